/** PersonGenerator.nextPerson: the person whose id the event id determines. */
import { FIRST_NAMES, FIRST_PERSON_ID, LAST_NAMES, US_CITIES, US_STATES, type GeneratorConfig } from './config.js';
import { lastBase0PersonId } from './ids.js';
import type { JavaRandom } from './java-random.js';
import type { Person } from './model.js';
import { nextExtra, nextString } from './strings.js';

/** nexmark's CREDIT_CARD_STRINGS: 0000 … 9999. */
const CARD_GROUPS = Array.from({ length: 10_000 }, (_, i) => String(i).padStart(4, '0'));

export function nextPerson(c: GeneratorConfig, eventId: number, random: JavaRandom, timestamp: number): Person {
  const id = lastBase0PersonId(c, eventId) + FIRST_PERSON_ID;
  const name = `${FIRST_NAMES[random.nextIntBounded(FIRST_NAMES.length)]} ${LAST_NAMES[random.nextIntBounded(LAST_NAMES.length)]}`;
  const emailAddress = `${nextString(random, 7)}@${nextString(random, 5)}.com`;
  const g1 = CARD_GROUPS[random.nextIntBounded(10_000)];
  const g2 = CARD_GROUPS[random.nextIntBounded(10_000)];
  const g3 = CARD_GROUPS[random.nextIntBounded(10_000)];
  const g4 = CARD_GROUPS[random.nextIntBounded(10_000)];
  const creditCard = `${g1} ${g2} ${g3} ${g4}`;
  const city = US_CITIES[random.nextIntBounded(US_CITIES.length)];
  const state = US_STATES[random.nextIntBounded(US_STATES.length)];
  const currentSize = 8 + name.length + emailAddress.length + creditCard.length + city.length + state.length;
  const extra = nextExtra(random, currentSize, c.avgPersonByteSize);
  return { id, name, emailAddress, creditCard, city, state, dateTime: timestamp, extra };
}
