// Types for the parts of fs-ext (a native addon without its own types) that ebofs uses.
declare module 'fs-ext' {
  export function flockSync(fd: number, flags: 'sh' | 'ex' | 'shnb' | 'exnb' | 'un'): void;
  export function seekSync(fd: number, position: number, whence: 0 | 1 | 2): number;
  export function statVFS(path: string): {
    f_bsize: number; f_frsize: number; f_blocks: number; f_bfree: number; f_bavail: number;
  };
  const fsExt: {
    flockSync: typeof flockSync;
    seekSync: typeof seekSync;
    statVFS: typeof statVFS;
  };
  export default fsExt;
}
