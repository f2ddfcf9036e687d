/**
 * Bytes a caller may hand to another thread without a copy: transferring an ArrayBuffer
 * detaches it here, so only a buffer nothing else views can go.
 */

/** Whether `data` is a view of a whole, unshared ArrayBuffer, so it can be transferred. */
export function ownsWholeBuffer(data: Uint8Array): boolean {
  return data.buffer instanceof ArrayBuffer && data.byteOffset === 0 && data.byteLength === data.buffer.byteLength;
}

/** The distinct buffers under `parts` (views of one buffer transfer it once). */
export function buffersOf(parts: readonly Uint8Array[]): ArrayBuffer[] {
  return [...new Set(parts.map((p) => p.buffer as ArrayBuffer))];
}
