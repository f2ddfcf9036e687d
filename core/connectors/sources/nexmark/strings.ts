/**
 * Strings of the Nexmark generator (StringsGenerator, BidGenerator's urls): random words, the
 * `extra` padding cut from one reusable 1 MiB string, and the fixed tables (hot urls, the
 * 10,000 channel urls). nexmark builds the tables from an unseeded random; here they come from
 * fixed seeds so every worker and every run has the same ones.
 */
import { CHANNELS_NUMBER, HOT_CHANNELS } from './config.js';
import { JavaRandom } from './java-random.js';

const MIN_STRING_LENGTH = 3;
const REUSABLE_EXTRA_LENGTH = 1024 * 1024;
const TABLE_SEED = 0x6e65786d; // "nexm"
const EXTRA_SEED = 0x61726b; // "ark"
const CHAR_A = 97;

/** Char codes of the string being built (nextString lengths are below 100). */
const codes = new Uint16Array(128);

/** StringsGenerator.nextString: 3 … maxLength-1 chars, a–z or `special` (P 1/13), trimmed. */
export function nextString(random: JavaRandom, maxLength: number, special = 32): string {
  const len = MIN_STRING_LENGTH + random.nextIntBounded(maxLength - MIN_STRING_LENGTH);
  for (let i = 0; i < len; i++) codes[i] = random.nextIntBounded(13) === 0 ? special : CHAR_A + random.nextIntBounded(26);
  // Java's trim() drops chars <= ' '; the only such char here is the space.
  let start = 0;
  let end = len;
  while (start < end && codes[start] === 32) start++;
  while (end > start && codes[end - 1] === 32) end--;
  return String.fromCharCode.apply(null, codes.subarray(start, end) as unknown as number[]);
}

/** nextExactString without the reusable string: 6 chars per nextInt(), Java's signed `%`. */
function exactStringFromInts(random: JavaRandom, length: number): string {
  const chunk = new Uint16Array(8192);
  let out = '';
  let rnd = 0;
  let n = 0;
  let k = 0;
  while (length-- > 0) {
    if (n === 0) {
      rnd = random.nextInt();
      n = 6;
    }
    // Java's % keeps the sign, so negative draws give chars below 'a', as in nexmark.
    chunk[k++] = CHAR_A + (rnd % 26);
    rnd = Math.trunc(rnd / 26);
    n--;
    if (k === chunk.length) {
      out += String.fromCharCode.apply(null, chunk as unknown as number[]);
      k = 0;
    }
  }
  return out + String.fromCharCode.apply(null, chunk.subarray(0, k) as unknown as number[]);
}

let reusable: string | undefined;

function reusableExtra(): string {
  return (reusable ??= exactStringFromInts(new JavaRandom(EXTRA_SEED), REUSABLE_EXTRA_LENGTH));
}

/** StringsGenerator.nextExactString: a slice of the reusable string at a random offset. */
export function nextExactString(random: JavaRandom, length: number): string {
  const pool = reusableExtra();
  if (length < pool.length / 2) {
    const offset = random.nextIntBounded(pool.length - length);
    return pool.substring(offset, offset + length);
  }
  return exactStringFromInts(random, length);
}

/** StringsGenerator.nextExtra: padding of 0.8 … 1.2 × (desiredAverageSize - currentSize). */
export function nextExtra(random: JavaRandom, currentSize: number, desiredAverageSize: number): string {
  if (currentSize > desiredAverageSize) return '';
  const d = desiredAverageSize - currentSize;
  const delta = javaRound(d * 0.2);
  const size = d - delta + (delta === 0 ? 0 : random.nextIntBounded(2 * delta));
  return nextExactString(random, size);
}

/** Math.round as Java defines it: floor(x + 0.5). */
export function javaRound(x: number): number {
  return Math.floor(x + 0.5);
}

const UNDERSCORE = 95;

function baseUrl(random: JavaRandom): string {
  const a = nextString(random, 5, UNDERSCORE);
  const b = nextString(random, 5, UNDERSCORE);
  const c = nextString(random, 5, UNDERSCORE);
  return `https://www.nexmark.com/${a}/${b}/${c}/item.htm?query=1`;
}

/** Integer.reverse: the 32 bits of i in reverse order, as a signed int. */
export function reverseBits(i: number): number {
  let r = 0;
  for (let b = 0; b < 32; b++) r = (r << 1) | ((i >>> b) & 1);
  return r | 0;
}

/** Java's Math.abs on an int: Integer.MIN_VALUE stays negative. */
function javaAbs(i: number): number {
  return i === -2147483648 ? i : Math.abs(i);
}

export interface UrlTables {
  hotUrls: string[];
  channels: string[];
  channelUrls: string[];
}

let tables: UrlTables | undefined;

/** The hot channels' urls and the channel cache, built as BidGenerator builds them. */
export function urlTables(): UrlTables {
  if (tables) return tables;
  const random = new JavaRandom(TABLE_SEED);
  const hotUrls = HOT_CHANNELS.map(() => baseUrl(random));
  const channels: string[] = new Array(CHANNELS_NUMBER);
  const channelUrls: string[] = new Array(CHANNELS_NUMBER);
  for (let i = 0; i < CHANNELS_NUMBER; i++) {
    let url = baseUrl(random);
    if (random.nextIntBounded(10) > 0) url += `&channel_id=${javaAbs(reverseBits(i))}`;
    channels[i] = `channel-${i}`;
    channelUrls[i] = url;
  }
  return (tables = { hotUrls, channels, channelUrls });
}
