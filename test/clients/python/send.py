"""Sends a batch of events to Event Hubs: the Python quickstart's sender, configured only by its
connection string (and, for the local emulator, the CA file to trust). Run it unmodified against
Azure or against `npm start`:

    EVENT_HUB_CONN_STR='Endpoint=sb://localhost;SharedAccessKeyName=RootManageSharedAccessKey;SharedAccessKey=SAS_KEY_VALUE' \
    EVENT_HUB_NAME=events CONNECTION_VERIFY=.data/eventhubs/tls/eventhubs-emulator-cert.pem /usr/bin/python3 send.py
"""
import os

from azure.eventhub import EventData, EventHubProducerClient

EVENT_HUB_CONN_STR = os.environ["EVENT_HUB_CONN_STR"]
EVENT_HUB_NAME = os.environ["EVENT_HUB_NAME"]
# A CA file to trust (the emulator's generated certificate); unset: the system's trust store.
CONNECTION_VERIFY = os.environ.get("CONNECTION_VERIFY") or None


def main():
    producer = EventHubProducerClient.from_connection_string(
        conn_str=EVENT_HUB_CONN_STR, eventhub_name=EVENT_HUB_NAME, connection_verify=CONNECTION_VERIFY
    )
    with producer:
        batch = producer.create_batch()
        for text in ("First event", "Second event", "Third event"):
            batch.add(EventData(text))
        producer.send_batch(batch)
    print(f"Sent {len(batch)} events to {EVENT_HUB_NAME}")


if __name__ == "__main__":
    main()
