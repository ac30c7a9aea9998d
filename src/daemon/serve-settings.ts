/**
 * What a coordinator serves where its command line is silent: the pool's metrics.* and
 * mount.* settings (config/settings.ts), read once as it starts. A flag given wins over
 * the stored setting either way (`--no-suid` over mount.suid=true, `--metrics-port` over
 * metrics.port), so the stored values are only the pool's defaults.
 */
import { sectionSettings } from '../config/values';
import { DfsError } from '../errors';
import type { MetaStore } from '../meta/store';

/** The flags as given: undefined where the command line said nothing. */
export interface ServeFlags {
  allowOther?: boolean;
  suid?: boolean;
  dev?: boolean;
  metrics?: { port?: number; bind?: string };
}

export interface Serving {
  allowOther: boolean;
  /** Where allow_other came from, for the refusal's advice: the flag or the pool's setting. */
  allowOtherFrom: 'flag' | 'setting' | null;
  suid: boolean;
  dev: boolean;
  /** The HTTP endpoint, undefined when neither the flags nor the settings ask for one. */
  metrics?: { port: number; bind: string };
}

interface MountSettings {
  suid: boolean;
  dev: boolean;
  allowOther: boolean;
}

interface MetricsSettings {
  port: number | null;
  bind: string;
}

export function servingOf(flags: ServeFlags, meta: MetaStore): Serving {
  const mount = sectionSettings<MountSettings>(meta, 'mount');
  const stored = sectionSettings<MetricsSettings>(meta, 'metrics');
  const port = flags.metrics?.port ?? stored.port;
  if (port === null && flags.metrics?.bind !== undefined) {
    throw new DfsError('EUSAGE', '--metrics-bind needs --metrics-port, or a port in the pool\'s setting metrics.port (dynamicfs config POOL --set metrics.port=N)');
  }
  return {
    allowOther: flags.allowOther ?? mount.allowOther,
    allowOtherFrom: flags.allowOther !== undefined ? (flags.allowOther ? 'flag' : null) : (mount.allowOther ? 'setting' : null),
    suid: flags.suid ?? mount.suid,
    dev: flags.dev ?? mount.dev,
    ...(port === null ? {} : { metrics: { port, bind: flags.metrics?.bind ?? stored.bind } }),
  };
}
