"""Conformance driver for the Event Hubs emulator: Python azure-eventhub (pyamqp transport).

Reads a plan (JSON, path in argv[1]) naming scenarios, runs each with the unmodified SDK
against the emulator and prints one JSON line per scenario with what the client observed. The
assertions live in test/integration/emulator/conformance.test.ts, the same for every client.
Run by that test with Debian's /usr/bin/python3 (python3-azure: azure-eventhub 5.11).
"""
import asyncio
import base64
import datetime
import json
import logging
import sys

from azure.eventhub import EventData
from azure.eventhub.aio import EventHubConsumerClient, EventHubProducerClient

WAIT_S = 20


class RefusedLinks(logging.Handler):
    """Counts pyamqp's "Unable to attach new link: ValueError('Invalid link')" lines.

    That is all pyamqp makes of a refused link (an ATTACH reply without source and target, then a
    DETACH with the error, as Azure sends): it retries without calling on_error, against Azure as
    here (Azure/azure-sdk-for-python#29081, MicrosoftDocs/azure-docs#104276).
    """

    def __init__(self):
        super().__init__(logging.ERROR)
        self.count = 0

    def emit(self, record):
        if "Invalid link" in record.getMessage():
            self.count += 1


REFUSED_LINKS = RefusedLinks()
logging.getLogger("azure.eventhub._pyamqp").addHandler(REFUSED_LINKS)


class Plan:
    def __init__(self, plan):
        self.connection_string = plan["connectionString"]
        self.ca_file = plan["caFile"]
        # AMQP over WebSockets: azure-eventhub dials wss://<this host:port>/$servicebus/websocket.
        self.endpoint = (
            {"custom_endpoint_address": plan["customEndpointAddress"]} if "customEndpointAddress" in plan else {}
        )

    def producer(self, hub, connection_string=None):
        return EventHubProducerClient.from_connection_string(
            connection_string or self.connection_string,
            eventhub_name=hub,
            connection_verify=self.ca_file,
            retry_total=0,
            **self.endpoint,
        )

    def consumer(self, hub, consumer_group="$Default", **kwargs):
        return EventHubConsumerClient.from_connection_string(
            self.connection_string,
            consumer_group,
            eventhub_name=hub,
            connection_verify=self.ca_file,
            retry_total=0,
            load_balancing_interval=0.5,
            **self.endpoint,
            **kwargs,
        )


def error_of(exc):
    return {"type": type(exc).__name__, "message": str(exc)}


def observed(event, partition_id):
    return {
        "partitionId": partition_id,
        "sequenceNumber": event.sequence_number,
        "offset": str(event.offset),
        "enqueuedTimeMs": round(event.enqueued_time.timestamp() * 1000),
        "partitionKey": event.partition_key.decode() if isinstance(event.partition_key, bytes) else event.partition_key,
        "body": base64.b64encode(body_bytes(event)).decode(),
        "properties": {
            (k.decode() if isinstance(k, bytes) else k): typed(v) for k, v in (event.properties or {}).items()
        },
    }


def body_bytes(event):
    body = event.body
    if isinstance(body, (bytes, bytearray)):
        return bytes(body)
    return b"".join(bytes(part) for part in body)


def typed(value):
    if isinstance(value, bool):
        return {"kind": "boolean", "value": value}
    if isinstance(value, (int, float)):
        return {"kind": "number", "value": value}
    if isinstance(value, bytes):
        # pyamqp decodes AMQP strings and binaries alike to bytes (_pyamqp/_decode.py: constructors
        # 0xa0/0xa1 and 0xb0/0xb1 share _decode_binary_*): a Python reader cannot tell them apart.
        return {"kind": "bytes", "value": base64.b64encode(value).decode()}
    if isinstance(value, datetime.datetime):
        return {"kind": "timestamp", "value": round(value.timestamp() * 1000)}
    return {"kind": "string", "value": str(value)}


def native(prop):
    kind, value = prop["kind"], prop["value"]
    if kind == "binary":
        return base64.b64decode(value)
    if kind == "timestamp":
        return datetime.datetime.fromtimestamp(value / 1000, tz=datetime.timezone.utc)
    return value


async def receive(plan, hub, count, partition_id=None, on_ready=None, consumer_group="$Default", **options):
    """Receives until `count` events or an error; calls on_ready once the link waits for events."""
    client = plan.consumer(hub, consumer_group)
    events, errors = [], []
    done = asyncio.Event()
    ready = {"called": False}

    async def on_event(context, event):
        if event is None:
            if on_ready and not ready["called"]:
                ready["called"] = True
                await on_ready()
            return
        events.append(observed(event, context.partition_id))
        if len(events) >= count:
            done.set()

    async def on_error(context, error):
        errors.append(error_of(error))
        done.set()

    refused_before = REFUSED_LINKS.count

    async def watch_refusals():
        while REFUSED_LINKS.count < refused_before + 2:
            await asyncio.sleep(0.05)
        done.set()

    task = asyncio.create_task(
        client.receive(on_event, partition_id=partition_id, on_error=on_error, max_wait_time=0.5, **options)
    )
    watcher = asyncio.create_task(watch_refusals())
    try:
        await asyncio.wait_for(done.wait(), WAIT_S)
    except asyncio.TimeoutError:
        pass
    finally:
        watcher.cancel()
        await client.close()
        await task
    return {"events": events, "errors": errors, "refusedLinks": REFUSED_LINKS.count - refused_before}


async def send(plan, hub, bodies, **batch_options):
    async with plan.producer(hub) as producer:
        batch = await producer.create_batch(**batch_options)
        for body in bodies:
            batch.add(EventData(body))
        await producer.send_batch(batch)


async def partition_summary(producer, partition_id):
    p = await producer.get_partition_properties(partition_id)
    return {
        "beginSequenceNumber": p["beginning_sequence_number"],
        "lastSequenceNumber": p["last_enqueued_sequence_number"],
        "lastOffset": str(p["last_enqueued_offset"]),
        "isEmpty": p["is_empty"],
        "lastEnqueuedTimeMs": round(p["last_enqueued_time_utc"].timestamp() * 1000),
    }


async def last_sequence_numbers(producer):
    ids = await producer.get_partition_ids()
    return {pid: (await producer.get_partition_properties(pid))["last_enqueued_sequence_number"] for pid in ids}


async def properties(plan, s):
    await send(plan, s["hub"], [b"a", b"b", b"c"], partition_id="1")
    async with plan.producer(s["hub"]) as producer:
        hub = await producer.get_eventhub_properties()
        return {
            "hub": {
                "name": hub["eventhub_name"],
                "partitionIds": hub["partition_ids"],
                "createdAtMs": round(hub["created_at"].timestamp() * 1000),
            },
            "partitions": {pid: await partition_summary(producer, pid) for pid in ("0", "1")},
        }


async def batch_limit(plan, s):
    async with plan.producer(s["hub"]) as producer:
        batch = await producer.create_batch(partition_id="0")
        count = 0
        while True:
            try:
                batch.add(EventData(b"x" * 1000))
                count += 1
            except ValueError:
                break
        await producer.send_batch(batch)
        result = {"count": count, "sizeInBytes": batch.size_in_bytes, "maxSizeInBytes": batch.max_size_in_bytes}
        try:
            await producer.send_batch([EventData(b"x" * 1_100_000)], partition_id="0")
            result["oversizedError"] = None
        except Exception as exc:  # pylint: disable=broad-except
            result["oversizedError"] = error_of(exc)
        result["partition"] = await partition_summary(producer, "0")
        return result


async def routing(plan, s):
    hub = s["hub"]
    async with plan.producer(hub) as producer:
        await send(plan, hub, [b"explicit"], partition_id="2")
        after_explicit = await last_sequence_numbers(producer)
        await send(plan, hub, [b"k1"], partition_key=s["partitionKey"])
        after_key1 = await last_sequence_numbers(producer)
        await send(plan, hub, [b"k2"], partition_key=s["partitionKey"])
        after_key2 = await last_sequence_numbers(producer)
    return {"afterExplicit": after_explicit, "afterKey1": after_key1, "afterKey2": after_key2}


async def positions(plan, s):
    hub = s["hub"]
    async with plan.producer(hub) as producer:
        for i in range(5):
            await producer.send_batch([EventData(f"e{i}".encode())], partition_id="0")
    events = (await receive(plan, hub, 5, "0", starting_position="-1"))["events"]
    third = events[2]
    enqueued = datetime.datetime.fromtimestamp(third["enqueuedTimeMs"] / 1000, tz=datetime.timezone.utc)

    async def first(position, inclusive=False):
        got = await receive(plan, hub, 1, "0", starting_position=position, starting_position_inclusive=inclusive)
        return got["events"][0]["sequenceNumber"] if got["events"] else got["errors"]

    async def send_after_attach():
        async with plan.producer(hub) as late:
            await late.send_batch([EventData(b"e5")], partition_id="0")

    latest = await receive(plan, hub, 1, "0", starting_position="@latest", on_ready=send_after_attach)
    return {
        "events": events,
        "first": {
            "earliest": await first("-1"),
            "latest": latest["events"][0]["sequenceNumber"] if latest["events"] else latest["errors"],
            "offsetInclusive": await first(third["offset"], True),
            "offsetExclusive": await first(third["offset"], False),
            "sequenceNumberInclusive": await first(third["sequenceNumber"], True),
            "sequenceNumberExclusive": await first(third["sequenceNumber"], False),
            "enqueuedTime": await first(enqueued),
        },
    }


async def stealing(plan, s):
    """Owner 1 reads; once it waits, owner 2 attaches (stealing); once that waits, an owner 1 tries
    again (refused while 2 holds the partition). Then one event ends owner 2's read."""
    hub = s["hub"]
    outcome = {"secondAttached": False}
    tasks = []

    async def second_ready():
        outcome["secondAttached"] = True
        outcome["lower"] = await receive(plan, hub, 1, "0", starting_position="-1", owner_level=1)
        async with plan.producer(hub) as producer:
            await producer.send_batch([EventData(b"end")], partition_id="0")

    async def first_ready():
        tasks.append(
            asyncio.ensure_future(
                receive(plan, hub, 1, "0", starting_position="-1", owner_level=2, on_ready=second_ready)
            )
        )

    first = await receive(plan, hub, 1, "0", starting_position="-1", owner_level=1, on_ready=first_ready)
    await asyncio.gather(*tasks)
    lower = outcome.get("lower", {"errors": [], "refusedLinks": 0})
    return {
        "first": first["errors"],
        "secondAttached": outcome["secondAttached"],
        "lower": lower["errors"],
        "lowerRefusedLinks": lower["refusedLinks"],
    }


async def multiple_receivers(plan, s):
    hub = s["hub"]
    async with plan.producer(hub) as producer:
        for pid in await producer.get_partition_ids():
            await producer.send_batch([EventData(f"p{pid}".encode())], partition_id=pid)
    # No partition id: one client reads every partition at once.
    got = await receive(plan, hub, 4, starting_position="-1")
    bodies = {e["partitionId"]: base64.b64decode(e["body"]).decode() for e in got["events"]}
    return {"bodies": bodies, "errors": got["errors"]}


async def wrong_key(plan, s):
    wrong = plan.connection_string.replace("SharedAccessKey=SAS_KEY_VALUE", "SharedAccessKey=not-the-key")
    try:
        async with plan.producer(s["hub"], wrong) as producer:
            await producer.get_eventhub_properties()
        return {"error": None}
    except Exception as exc:  # pylint: disable=broad-except
        return {"error": error_of(exc)}


async def unknown_entities(plan, s):
    try:
        async with plan.producer(s["missingHub"]) as producer:
            await producer.get_eventhub_properties()
        hub_error = None
    except Exception as exc:  # pylint: disable=broad-except
        hub_error = error_of(exc)
    got = await receive(plan, s["hub"], 1, "0", consumer_group=s["missingConsumerGroup"], starting_position="-1")
    return {"hubError": hub_error, "consumerGroupErrors": got["errors"], "consumerGroupRefusedLinks": got["refusedLinks"]}


async def fixture_send(plan, s):
    async with plan.producer(s["hub"]) as producer:
        batch = await producer.create_batch(partition_id=s["partitionId"])
        for fixture in s["fixtures"]:
            event = EventData(base64.b64decode(fixture["body"]))
            event.properties = {name: native(prop) for name, prop in fixture["properties"].items()}
            batch.add(event)
        await producer.send_batch(batch)
    return {"sent": len(s["fixtures"])}


async def fixture_read(plan, s):
    got = await receive(plan, s["hub"], s["count"], starting_position="-1")
    return {"events": got["events"], "errors": got["errors"]}


SCENARIOS = {
    "properties": properties,
    "batchLimit": batch_limit,
    "routing": routing,
    "positions": positions,
    "stealing": stealing,
    "multipleReceivers": multiple_receivers,
    "wrongKey": wrong_key,
    "unknownEntities": unknown_entities,
    "fixtureSend": fixture_send,
    "fixtureRead": fixture_read,
}


async def main():
    with open(sys.argv[1], encoding="utf-8") as file:
        raw = json.load(file)
    plan = Plan(raw)
    for scenario in raw["scenarios"]:
        try:
            result = {"result": await SCENARIOS[scenario["name"]](plan, scenario)}
        except Exception as exc:  # pylint: disable=broad-except
            result = {"error": error_of(exc)}
        print(json.dumps({"scenario": scenario["name"], **result}), flush=True)


if __name__ == "__main__":
    asyncio.run(main())
