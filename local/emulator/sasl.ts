// SASL as Event Hubs offers it: MSSBCBS next to ANONYMOUS. MSSBCBS means "no credentials in
// SASL; the client proves itself later with put-token on $cbs", exactly what ANONYMOUS means to
// the emulator. .NET (Azure.Messaging.EventHubs, src/Amqp/AmqpConnectionScope.cs: CbsSaslHandlerName
// "MSSBCBS") and Python's uamqp transport ask for MSSBCBS and fail if it is not offered; the JS SDK
// (rhea) and pyamqp ask for ANONYMOUS.
import type { Container } from 'rhea';

export const SASL_MECHANISMS = ['MSSBCBS', 'ANONYMOUS'] as const;

/** A mechanism that succeeds at once, whatever initial response it gets (none is expected). */
class NoCredentialsMechanism {
  outcome: boolean | undefined = undefined;
  username: string | undefined = undefined;

  start(): void {
    this.outcome = true;
  }

  step(): void {
    this.outcome = true;
  }
}

/** Offers the mechanisms on every connection the container accepts. */
export function offerSaslMechanisms(container: Container): void {
  const mechanisms = (container as unknown as { sasl_server_mechanisms: Record<string, () => unknown> })
    .sasl_server_mechanisms;
  for (const name of SASL_MECHANISMS) mechanisms[name] = () => new NoCredentialsMechanism();
}
