// npm run bench:parsing - how long the publisher takes to turn a request body into event bodies, per event,
// side by side with JSON.parse of the same body (which validates but keeps no source text).
// 100 events of about 1 KB per body, as in bench:e2e. Prints medians of 9 rounds; asserts nothing.
import { splitEvents } from '../src/lib/http/bodySplitting';

const EVENTS = 100;
const ITERATIONS = 1000;
const ROUNDS = 9;

function eventText(padding: string): string {
  return JSON.stringify({ id: 'device-17', reading: 21.5, tags: ['a', 'b'], data: padding.repeat(1000) });
}

const bodies = {
  'JSON array, ASCII': Buffer.from(`[${Array(EVENTS).fill(eventText('x')).join(',')}]`),
  'JSON array, non-ASCII': Buffer.from(`[${Array(EVENTS).fill(eventText('é')).join(',')}]`),
  'NDJSON, ASCII': Buffer.from(Array(EVENTS).fill(eventText('x')).join('\n')),
};

function nsPerEvent(work: () => void): number {
  for (let i = 0; i < ITERATIONS; i++) work();
  const rounds: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    const start = process.hrtime.bigint();
    for (let i = 0; i < ITERATIONS; i++) work();
    rounds.push(Number(process.hrtime.bigint() - start) / ITERATIONS / EVENTS);
  }
  return rounds.sort((a, b) => a - b)[Math.floor(ROUNDS / 2)];
}

console.log(
  `Request parsing, ${EVENTS} events per body, median of ${ROUNDS} rounds of ${ITERATIONS} bodies:`,
);
console.log(
  `${'body'.padEnd(24)}${'splitEvents'.padStart(14)}${'JSON.parse'.padStart(14)}${'ratio'.padStart(8)}`,
);
for (const [name, body] of Object.entries(bodies)) {
  const format = name.startsWith('NDJSON') ? 'ndjson' : 'json';
  const split = nsPerEvent(() => splitEvents(format, body));
  const text = body.toString('utf8');
  const parse = nsPerEvent(() =>
    format === 'json' ? JSON.parse(text) : text.split('\n').map((line) => JSON.parse(line)),
  );
  console.log(
    `${name.padEnd(24)}${`${Math.round(split)} ns`.padStart(14)}${`${Math.round(parse)} ns`.padStart(14)}${(split / parse).toFixed(2).padStart(8)}`,
  );
}
