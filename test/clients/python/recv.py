"""Receives events and checkpoints them in Azure Blob Storage: the Python quickstart's receiver,
configured only by its connection strings (and, for the local emulator, the CA file to trust).
A second run starts after what the first one checkpointed. Run it unmodified against Azure or
against `npm start` (Azurite on 10000, started with --loose for this checkpoint store):

    EVENT_HUB_CONN_STR='Endpoint=sb://localhost;SharedAccessKeyName=RootManageSharedAccessKey;SharedAccessKey=SAS_KEY_VALUE' \
    EVENT_HUB_NAME=events CONNECTION_VERIFY=.data/eventhubs/tls/eventhubs-emulator-cert.pem \
    BLOB_STORAGE_CONN_STR=UseDevelopmentStorage=true BLOB_CONTAINER_NAME=python-checkpoints /usr/bin/python3 recv.py

Ctrl-C stops it; RECV_IDLE_EXIT_SECONDS=<n> makes it stop after n seconds without events.
"""
import os
import threading
import time

from azure.core.exceptions import ResourceExistsError
from azure.eventhub import EventHubConsumerClient
from azure.eventhub.extensions.checkpointstoreblob import BlobCheckpointStore
from azure.storage.blob import ContainerClient

EVENT_HUB_CONN_STR = os.environ["EVENT_HUB_CONN_STR"]
EVENT_HUB_NAME = os.environ["EVENT_HUB_NAME"]
CONSUMER_GROUP = os.environ.get("EVENT_HUB_CONSUMER_GROUP", "$Default")
CONNECTION_VERIFY = os.environ.get("CONNECTION_VERIFY") or None
BLOB_STORAGE_CONN_STR = os.environ["BLOB_STORAGE_CONN_STR"]
BLOB_CONTAINER_NAME = os.environ["BLOB_CONTAINER_NAME"]
IDLE_EXIT_SECONDS = float(os.environ.get("RECV_IDLE_EXIT_SECONDS", "0"))

last_activity = time.monotonic()


def on_event(partition_context, event):
    global last_activity  # pylint: disable=global-statement
    if event is None:
        return
    last_activity = time.monotonic()
    print(
        f'Received the event: "{event.body_as_str(encoding="UTF-8")}" from the partition with ID: '
        f'"{partition_context.partition_id}"',
        flush=True,
    )
    partition_context.update_checkpoint(event)


def on_partition_initialize(partition_context):
    global last_activity  # pylint: disable=global-statement
    last_activity = time.monotonic()
    print(f'Reading partition "{partition_context.partition_id}"', flush=True)


def stop_when_idle(client):
    """Closes the client once nothing has arrived for IDLE_EXIT_SECONDS (tests, scripts)."""
    while time.monotonic() - last_activity < IDLE_EXIT_SECONDS:
        time.sleep(0.2)
    client.close()


def main():
    try:
        ContainerClient.from_connection_string(BLOB_STORAGE_CONN_STR, BLOB_CONTAINER_NAME).create_container()
    except ResourceExistsError:
        pass
    checkpoint_store = BlobCheckpointStore.from_connection_string(BLOB_STORAGE_CONN_STR, BLOB_CONTAINER_NAME)
    client = EventHubConsumerClient.from_connection_string(
        EVENT_HUB_CONN_STR,
        consumer_group=CONSUMER_GROUP,
        eventhub_name=EVENT_HUB_NAME,
        checkpoint_store=checkpoint_store,
        connection_verify=CONNECTION_VERIFY,
    )
    if IDLE_EXIT_SECONDS > 0:
        threading.Thread(target=stop_when_idle, args=(client,), daemon=True).start()
    with client:
        # "-1": from the beginning of each partition that has no checkpoint yet.
        client.receive(
            on_event=on_event,
            on_partition_initialize=on_partition_initialize,
            starting_position="-1",
            max_wait_time=1,
        )


if __name__ == "__main__":
    main()
