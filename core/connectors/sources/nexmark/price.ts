/** PriceGenerator.nextPrice: log-uniform cents from 100 ($1) to 10^8 ($1 M). */
import type { JavaRandom } from './java-random.js';
import { javaRound } from './strings.js';

export function nextPrice(random: JavaRandom): number {
  return javaRound(Math.pow(10.0, random.nextDouble() * 6.0) * 100.0);
}
