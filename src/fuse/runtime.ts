/**
 * Where the FUSE pieces come from, found without loading anything: fuse-native's
 * package, and the libfuse 2.9.9 (soname libfuse.so.2) and fusermount that its
 * dependency fuse-shared-library ships, so that no system FUSE package is needed.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { DfsError } from '../errors';

/** Where the FUSE pieces come from (for diagnostics and `forceUnmount`). */
export interface FuseRuntime {
  /** fuse-native's package directory. */
  packageDir: string;
  /** The libfuse.so.2 we preloaded (fuse-shared-library's), or undefined if none was. */
  libfuse?: string;
  /** The fusermount shipped with fuse-shared-library, if present. */
  shippedFusermount?: string;
}

let runtime: FuseRuntime | undefined;

/** Locate fuse-native and its shipped libfuse/fusermount without loading anything. */
export function fuseRuntime(): FuseRuntime {
  if (runtime) return runtime;
  let packageDir: string;
  try {
    packageDir = path.dirname(require.resolve('fuse-native/package.json'));
  } catch (err) {
    throw new DfsError('EINTERNAL', `fuse-native is not installed (${(err as Error).message}); run \`npm ci\` in the dynamicfs checkout`);
  }
  const r: FuseRuntime = { packageDir };
  if (process.platform === 'linux') {
    try {
      // Resolve from fuse-native's directory: the library it was built against.
      const shared = require(require.resolve('fuse-shared-library', { paths: [packageDir] })) as { lib?: string };
      if (shared.lib && fs.existsSync(shared.lib)) {
        r.libfuse = shared.lib;
        const fm = path.join(path.dirname(path.dirname(shared.lib)), 'bin', 'fusermount');
        if (fs.existsSync(fm)) r.shippedFusermount = fm;
      }
    } catch {
      // No shared library package (another platform): fall back to the system's libfuse.
    }
  }
  runtime = r;
  return r;
}
