/**
 * The CLI's verbs, in the order `dynamicfs --help` lists them. Each line re-exports
 * one verb file's `register` under the verb's name; adding a verb is one line here.
 * main.ts checks at compile time that every export is a RegisterVerb.
 */
export { register as init } from './init';
export { register as import } from './import';
export { register as addDisk } from './add-disk';
export { register as disks } from './disks';
export { register as diskEvents } from './disk-events';
export { register as events } from './events';
export { register as probeDisks } from './probe-disks';
export { register as setDiskHealth } from './set-disk-health';
export { register as drain } from './drain';
export { register as replaceDisk } from './replace-disk';
export { register as removeDisk } from './remove-disk';
export { register as rebuild } from './rebuild';
export { register as compact } from './compact';
export { register as jobs } from './jobs';
export { register as upgrade } from './upgrade';
export { register as config } from './config';
export { register as scrub } from './scrub';
export { register as scrubDaemon } from './scrub-daemon';
export { register as scrubSchedule } from './scrub-schedule';
export { register as status } from './status';
export { register as health } from './health';
export { register as diagnose } from './diagnose';
export { register as metrics } from './metrics';
export { register as tier } from './tier';
export { register as tierPolicy } from './tier-policy';
export { register as ls } from './ls';
export { register as mkdir } from './mkdir';
export { register as mv } from './mv';
export { register as rm } from './rm';
export { register as stat } from './stat';
export { register as put } from './put';
export { register as get } from './get';
export { register as gc } from './gc';
export { register as check } from './check';
export { register as snapshot } from './snapshot';
export { register as send } from './send';
export { register as receive } from './receive';
export { register as backup } from './backup';
export { register as benchmark } from './benchmark';
export { register as mount } from './mount';
export { register as unmount } from './unmount';
export { register as serve } from './serve';
export { register as metricsServer } from './metrics-server';
