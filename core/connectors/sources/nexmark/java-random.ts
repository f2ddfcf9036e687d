/**
 * java.util.Random, bit for bit: the 48-bit linear congruential generator Beam's Nexmark
 * generator seeds with each event id (`new Random(eventId)`). The state is kept as two 24-bit
 * halves so every product stays below 2^53 and is exact in a double; `setSeed` lets one
 * instance serve every event without allocating.
 */

const TWO_24 = 0x1000000;
/** The multiplier 0x5DEECE66D split into 24-bit halves. */
const MUL_HI = 0x5de;
const MUL_LO = 0xece66d;
const INCREMENT = 0xb;
/** 2^-53, for nextDouble. */
const DOUBLE_UNIT = 1 / 9007199254740992;

export class JavaRandom {
  private hi = 0;
  private lo = 0;

  constructor(seed = 0) {
    this.setSeed(seed);
  }

  /** `new Random(seed)` / `setSeed(seed)` for a non-negative seed below 2^53. */
  setSeed(seed: number): void {
    this.lo = (seed % TWO_24) ^ MUL_LO;
    this.hi = (Math.floor(seed / TWO_24) % TWO_24) ^ MUL_HI;
  }

  /** Random.next(bits): advances the LCG and returns its top `bits` bits as a signed int. */
  next(bits: number): number {
    const p = this.lo * MUL_LO + INCREMENT;
    const lo = p % TWO_24;
    const carry = (p - lo) / TWO_24;
    this.hi = (this.hi * MUL_LO + this.lo * MUL_HI + carry) % TWO_24;
    this.lo = lo;
    // seed >>> (48 - bits), then Java's (int) cast.
    return Math.floor((this.hi * TWO_24 + lo) / 2 ** (48 - bits)) | 0;
  }

  /** Random.nextInt(): 32 signed bits. */
  nextInt(): number {
    return this.next(32);
  }

  /** Random.nextInt(bound), 0 <= result < bound, with Java's rejection of the biased tail. */
  nextIntBounded(bound: number): number {
    let r = this.next(31);
    const m = bound - 1;
    if ((bound & m) === 0) return Math.floor((bound * r) / 2147483648);
    for (let u = r; u - (r = u % bound) + m > 2147483647; u = this.next(31));
    return r;
  }

  /** Random.nextDouble(): 53 random bits in [0, 1). */
  nextDouble(): number {
    return (this.next(26) * 134217728 + this.next(27)) * DOUBLE_UNIT;
  }
}
