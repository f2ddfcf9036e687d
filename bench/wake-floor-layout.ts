/**
 * The shared cells of wake-floor.ts and its two threads.
 *
 *   Int32   0 SEQ_A   the main thread rings it after writing a sample's due time
 *           1 SEQ_B   thread A rings it once it ran at the due time
 *           2 DONE    samples finished by thread B
 *           3 STOP    1: both threads leave
 *           4 SAMPLE  index of the sample in progress
 *   Float64 3 DUE     the sample's due time (wall clock: timeOrigin + now, the same on every thread)
 *   then two Float64 arrays of FLOOR_SAMPLES: when A ran, when B ran (wall clock).
 */
export const FLOOR_SEQ_A = 0;
export const FLOOR_SEQ_B = 1;
export const FLOOR_DONE = 2;
export const FLOOR_STOP = 3;
export const FLOOR_SAMPLE = 4;
export const FLOOR_DUE_F64 = 3;
export const FLOOR_HEADER_BYTES = 32;
/** The most samples one probe keeps (a sample every 4–10 ms: over 2 minutes of a run). */
export const FLOOR_SAMPLES = 16_384;
export const FLOOR_BYTES = FLOOR_HEADER_BYTES + 2 * FLOOR_SAMPLES * 8;

/** Where thread A's and thread B's times of sample k are (Float64 indexes). */
export const floorAAt = (k: number): number => FLOOR_HEADER_BYTES / 8 + k;
export const floorBAt = (k: number): number => FLOOR_HEADER_BYTES / 8 + FLOOR_SAMPLES + k;

export interface FloorWorkerData {
  role: 'a' | 'b';
  cells: SharedArrayBuffer;
}
