// Idempotent-producer state is kept per partition and producer while it has links, and forgotten
// after an hour without any, so a long-running emulator does not collect every producer ever seen.
import { types } from 'rhea';
import { PRODUCER_ID, PRODUCER_SEQUENCE_NUMBER, ProducerRegistry } from '../idempotence';

const HOUR = 60 * 60 * 1000;

describe('emulator idempotent producer registry', () => {
  test('state of a producer without links expires after the idle time; with a link it stays', () => {
    let now = 0;
    const registry = new ProducerRegistry(HOUR, () => now);
    const attach = (requested: Record<string, unknown> = {}) => {
      const attached = registry.attach('events/0', requested);
      if (!('producer' in attached)) throw new Error(attached.description);
      return attached;
    };
    const idle = attach();
    const { producerId } = idle.producer;
    registry.beginStore(idle.producer, 0, 5)(undefined); // stores 0..4
    const busy = attach();

    // While its link is open, the state is kept however long it stays quiet.
    now += 2 * HOUR;
    attach({ [PRODUCER_ID]: producerId });
    expect(registry.size).toBe(2);

    // Two links of the idle producer are open now; once both close, an hour later it is forgotten.
    registry.detach(idle.producer);
    registry.detach(idle.producer);
    now += HOUR - 1;
    attach({ [PRODUCER_ID]: busy.producer.producerId });
    expect(registry.size).toBe(2);
    now += 1;
    const returning = attach({ [PRODUCER_ID]: producerId });
    // Forgotten: a returning producer starts from its own word (none given: -1), not from 4.
    expect(returning.properties[PRODUCER_SEQUENCE_NUMBER]).toEqual(types.wrap_int(-1));
    expect(registry.size).toBe(2);
  });
});
