// Receiver ownership of a partition within a consumer group, as the service enforces it:
// - an epoch (owner level) receiver evicts receivers with a lower or equal epoch, and all
//   non-epoch receivers, with amqp:link:stolen; a lower epoch than the holder's is refused;
// - a non-epoch receiver is refused while an epoch receiver holds the partition;
// - at most 5 non-epoch receivers per partition and consumer group.
// Equal-epoch stealing is what the SDK's client-side load balancing relies on.
import {
  type AmqpError,
  lowerEpochRefused,
  MAX_NON_EPOCH_RECEIVERS,
  receiverStolen,
  tooManyReceivers,
} from './errors';

export interface OwnedReceiver {
  /** The receiver's name (com.microsoft:receiver-name) or link name, used in error messages. */
  name: string;
  epoch: number | undefined;
  evict(error: AmqpError): void;
}

interface PartitionOwners {
  epochHolder: OwnedReceiver | undefined;
  others: Set<OwnedReceiver>;
}

export class OwnershipRegistry {
  private readonly owners = new Map<string, PartitionOwners>();

  /** Registers a receiver, evicting those it supersedes; returns the refusal if it may not attach. */
  acquire(key: string, receiver: OwnedReceiver): AmqpError | undefined {
    const owners = this.owners.get(key) ?? { epochHolder: undefined, others: new Set<OwnedReceiver>() };
    const holder = owners.epochHolder;
    if (receiver.epoch === undefined) {
      if (holder) return lowerEpochRefused(holder.name, holder.epoch!, undefined);
      if (owners.others.size >= MAX_NON_EPOCH_RECEIVERS) {
        return tooManyReceivers([...owners.others].map((other) => other.name));
      }
      owners.others.add(receiver);
    } else {
      if (holder && holder.epoch! > receiver.epoch)
        return lowerEpochRefused(holder.name, holder.epoch!, receiver.epoch);
      const evicted = holder ? [holder, ...owners.others] : [...owners.others];
      owners.epochHolder = receiver;
      owners.others.clear();
      for (const old of evicted) old.evict(receiverStolen(receiver.epoch, old.name, old.epoch));
    }
    this.owners.set(key, owners);
    return undefined;
  }

  release(key: string, receiver: OwnedReceiver): void {
    const owners = this.owners.get(key);
    if (!owners) return;
    if (owners.epochHolder === receiver) owners.epochHolder = undefined;
    owners.others.delete(receiver);
    if (!owners.epochHolder && owners.others.size === 0) this.owners.delete(key);
  }
}
