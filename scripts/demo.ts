/**
 * The README's main job. Until the pool engine lands this runs the native benchmark,
 * which exercises every hot-path kernel once on this machine.
 */
import './bench-native';
