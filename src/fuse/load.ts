/**
 * Loads fuse-native, the only module that does, on the first Fuse constructed (so
 * commands that do not mount keep working where FUSE cannot load).
 *
 * fuse-native's module (its prebuild, or the copy its install script rebuilds) has
 * `NEEDED libfuse.so.2` and no rpath, so without Debian's libfuse2 it fails to load. We
 * dlopen fuse-shared-library's libfuse first with RTLD_NODELETE; the dynamic linker then
 * satisfies fuse.node's `libfuse.so.2` with the object already loaded (it matches
 * sonames of loaded objects), whatever the system has.
 */
import * as os from 'node:os';
import { DfsError } from '../errors';
import type { Done, NativeFuseClass } from './fuse-types';
import { isFuseMounted } from './proc-mounts';
import { fuseRuntime } from './runtime';
import { fusermountUnmount } from './unmount';

/** glibc's RTLD_NODELETE; Node does not export it. Keeps the library after Node's dlclose. */
const RTLD_NODELETE = 0x1000;

let nativeClass: NativeFuseClass | undefined;

/** fuse-native's Fuse class, loaded once. */
export function loadNative(): NativeFuseClass {
  if (nativeClass) return nativeClass;
  const rt = fuseRuntime();
  if (rt.libfuse) {
    try {
      process.dlopen({ exports: {} }, rt.libfuse, os.constants.dlopen.RTLD_NOW | RTLD_NODELETE);
    } catch (err) {
      // Expected: a plain library does not register a Node module. Anything else is real.
      if (!/did not self-register/.test((err as Error).message)) {
        throw new DfsError('EINTERNAL', `cannot load ${rt.libfuse}: ${(err as Error).message}`);
      }
    }
  }
  let Native: NativeFuseClass;
  try {
    Native = require(rt.packageDir) as NativeFuseClass;
  } catch (err) {
    throw new DfsError('EINTERNAL', `cannot load fuse-native from ${rt.packageDir}: ${(err as Error).message}; run \`npm ci\` (it builds fuse-native when its prebuild does not load)`);
  }
  // fuse-native's own close path (and `force`) calls this static by name; route it to a
  // fusermount that exists. A mount the kernel no longer lists (an operator's `umount`
  // ended the session) needs none, and fusermount would fail: fuse-native then never
  // releases its session handle, which keeps the process from exiting.
  Native.unmount = (mnt: string, cb: Done): void => {
    if (!isFuseMounted(mnt)) return cb(null);
    fusermountUnmount(mnt).then(() => cb(null), (err: Error) => cb(err));
  };
  nativeClass = Native;
  return Native;
}
