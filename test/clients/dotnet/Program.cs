// Conformance driver for the Event Hubs emulator: .NET Azure.Messaging.EventHubs 5.12.2.
//
// Reads a plan (JSON, path in args[0]) naming scenarios, runs each with the unmodified SDK against
// the emulator and prints one JSON line per scenario with what the client observed. The
// assertions live in test/integration/emulator/conformance.test.ts, the same for every client.
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Azure.Messaging.EventHubs;
using Azure.Messaging.EventHubs.Consumer;
using Azure.Messaging.EventHubs.Primitives;
using Azure.Messaging.EventHubs.Producer;

var plan = JsonNode.Parse(File.ReadAllText(args[0]))!;
// "AmqpWebSockets" in the plan: the SDK's WebSocket transport (ws:// with UseDevelopmentEmulator=true).
var transport = Enum.Parse<EventHubsTransportType>(plan["transport"]?.GetValue<string>() ?? "AmqpTcp");
// "customEndpointAddress": where to connect instead of the connection string's host (and port).
var customEndpoint = plan["customEndpointAddress"]?.GetValue<string>() is string address ? new Uri(address) : null;
var driver = new Driver(plan["connectionString"]!.GetValue<string>(), transport, customEndpoint);
foreach (var scenario in plan["scenarios"]!.AsArray())
{
    var name = scenario!["name"]!.GetValue<string>();
    JsonObject line;
    try
    {
        line = new JsonObject { ["scenario"] = name, ["result"] = await driver.Run(name, scenario) };
    }
    catch (Exception ex)
    {
        line = new JsonObject { ["scenario"] = name, ["error"] = Driver.ErrorOf(ex) };
    }
    Console.WriteLine(line.ToJsonString());
}

class Driver(string connectionString, EventHubsTransportType transport, Uri? customEndpoint)
{
    EventHubConnectionOptions ConnectionOptions => new() { TransportType = transport, CustomEndpointAddress = customEndpoint };

    static readonly TimeSpan Wait = TimeSpan.FromSeconds(20);
    static readonly EventHubsRetryOptions NoRetries = new() { MaximumRetries = 0, TryTimeout = TimeSpan.FromSeconds(10) };

    public Task<JsonNode> Run(string name, JsonNode s) => name switch
    {
        "properties" => Properties(s),
        "batchLimit" => BatchLimit(s),
        "routing" => Routing(s),
        "positions" => Positions(s),
        "stealing" => Stealing(s),
        "multipleReceivers" => MultipleReceivers(s),
        "wrongKey" => WrongKey(s),
        "unknownEntities" => UnknownEntities(s),
        "idempotent" => Idempotent(s),
        "fixtureSend" => FixtureSend(s),
        "fixtureRead" => FixtureRead(s),
        _ => throw new ArgumentException($"unknown scenario {name}"),
    };

    public static JsonObject ErrorOf(Exception ex) => new()
    {
        ["type"] = ex.GetType().Name,
        ["reason"] = ex is EventHubsException eh ? eh.Reason.ToString() : null,
        ["message"] = ex.Message,
    };

    EventHubProducerClient Producer(string hub, EventHubProducerClientOptions? options = null, string? connection = null) =>
        new(connection ?? connectionString, hub, options ?? new EventHubProducerClientOptions { RetryOptions = NoRetries, ConnectionOptions = ConnectionOptions });

    PartitionReceiver Receiver(string hub, string partitionId, EventPosition position, long? ownerLevel = null, string consumerGroup = "$Default") =>
        new(consumerGroup, partitionId, position, connectionString, hub,
            new PartitionReceiverOptions { RetryOptions = NoRetries, OwnerLevel = ownerLevel, ConnectionOptions = ConnectionOptions });

    static long Ms(DateTimeOffset time) => time.ToUnixTimeMilliseconds();

    static JsonObject Observed(EventData e, string partitionId)
    {
        var properties = new JsonObject();
        foreach (var (key, value) in e.Properties) properties[key] = Typed(value);
        return new JsonObject
        {
            ["partitionId"] = partitionId,
            ["sequenceNumber"] = e.SequenceNumber,
            ["offset"] = e.OffsetString,
            ["enqueuedTimeMs"] = Ms(e.EnqueuedTime),
            ["partitionKey"] = e.PartitionKey,
            ["body"] = Convert.ToBase64String(e.EventBody.ToArray()),
            ["properties"] = properties,
        };
    }

    static JsonObject Typed(object value) => value switch
    {
        bool b => new JsonObject { ["kind"] = "boolean", ["value"] = b },
        string str => new JsonObject { ["kind"] = "string", ["value"] = str },
        byte[] bytes => new JsonObject { ["kind"] = "binary", ["value"] = Convert.ToBase64String(bytes) },
        ArraySegment<byte> segment => new JsonObject { ["kind"] = "binary", ["value"] = Convert.ToBase64String(segment.ToArray()) },
        DateTime time => new JsonObject { ["kind"] = "timestamp", ["value"] = new DateTimeOffset(time.ToUniversalTime()).ToUnixTimeMilliseconds() },
        DateTimeOffset time => new JsonObject { ["kind"] = "timestamp", ["value"] = time.ToUnixTimeMilliseconds() },
        ulong big => new JsonObject { ["kind"] = "number", ["value"] = big },
        int or long or short or sbyte or byte or uint or ushort => new JsonObject { ["kind"] = "number", ["value"] = Convert.ToInt64(value) },
        float or double => new JsonObject { ["kind"] = "number", ["value"] = Convert.ToDouble(value) },
        _ => new JsonObject { ["kind"] = "other", ["value"] = value.ToString() },
    };

    static object Native(JsonNode prop)
    {
        var value = prop["value"]!;
        return prop["kind"]!.GetValue<string>() switch
        {
            "string" => value.GetValue<string>(),
            "boolean" => value.GetValue<bool>(),
            "binary" => Convert.FromBase64String(value.GetValue<string>()),
            "timestamp" => DateTimeOffset.FromUnixTimeMilliseconds(value.GetValue<long>()).UtcDateTime,
            "int" => value.GetValue<int>(),
            "long" => value.GetValue<long>(),
            "double" => value.GetValue<double>(),
            var kind => throw new ArgumentException($"unknown property kind {kind}"),
        };
    }

    /// Receives up to `count` events; `onReady` runs once the link is attached and waiting.
    static async Task<JsonObject> Receive(PartitionReceiver receiver, int count, Func<Task>? onReady = null)
    {
        var events = new JsonArray();
        var errors = new JsonArray();
        var deadline = DateTime.UtcNow + Wait;
        try
        {
            if (onReady != null)
            {
                foreach (var e in await receiver.ReceiveBatchAsync(count, TimeSpan.FromMilliseconds(200))) events.Add(Observed(e, receiver.PartitionId));
                await onReady();
            }
            while (events.Count < count && DateTime.UtcNow < deadline)
            {
                foreach (var e in await receiver.ReceiveBatchAsync(count - events.Count, TimeSpan.FromMilliseconds(500)))
                    events.Add(Observed(e, receiver.PartitionId));
            }
        }
        catch (Exception ex)
        {
            errors.Add(ErrorOf(ex));
        }
        return new JsonObject { ["events"] = events, ["errors"] = errors };
    }

    async Task<JsonObject> ReceiveNew(string hub, string partitionId, EventPosition position, int count, long? ownerLevel = null, Func<Task>? onReady = null, string consumerGroup = "$Default")
    {
        await using var receiver = Receiver(hub, partitionId, position, ownerLevel, consumerGroup);
        return await Receive(receiver, count, onReady);
    }

    async Task Send(string hub, IEnumerable<byte[]> bodies, SendEventOptions? options = null)
    {
        await using var producer = Producer(hub);
        await producer.SendAsync(bodies.Select(b => new EventData(b)), options ?? new SendEventOptions());
    }

    static async Task<JsonObject> PartitionSummary(EventHubProducerClient producer, string partitionId)
    {
        var p = await producer.GetPartitionPropertiesAsync(partitionId);
        return new JsonObject
        {
            ["beginSequenceNumber"] = p.BeginningSequenceNumber,
            ["lastSequenceNumber"] = p.LastEnqueuedSequenceNumber,
            ["lastOffset"] = p.LastEnqueuedOffsetString,
            ["isEmpty"] = p.IsEmpty,
            ["lastEnqueuedTimeMs"] = Ms(p.LastEnqueuedTime),
        };
    }

    static async Task<JsonObject> LastSequenceNumbers(EventHubProducerClient producer)
    {
        var result = new JsonObject();
        foreach (var id in await producer.GetPartitionIdsAsync())
            result[id] = (await producer.GetPartitionPropertiesAsync(id)).LastEnqueuedSequenceNumber;
        return result;
    }

    static byte[] Utf8(string text) => Encoding.UTF8.GetBytes(text);

    async Task<JsonNode> Properties(JsonNode s)
    {
        var hub = s["hub"]!.GetValue<string>();
        await Send(hub, [Utf8("a"), Utf8("b"), Utf8("c")], new SendEventOptions { PartitionId = "1" });
        await using var producer = Producer(hub);
        var props = await producer.GetEventHubPropertiesAsync();
        return new JsonObject
        {
            ["hub"] = new JsonObject
            {
                ["name"] = props.Name,
                ["partitionIds"] = new JsonArray(props.PartitionIds.Select(id => (JsonNode)id).ToArray()),
                ["createdAtMs"] = Ms(props.CreatedOn),
            },
            ["partitions"] = new JsonObject
            {
                ["0"] = await PartitionSummary(producer, "0"),
                ["1"] = await PartitionSummary(producer, "1"),
            },
        };
    }

    async Task<JsonNode> BatchLimit(JsonNode s)
    {
        await using var producer = Producer(s["hub"]!.GetValue<string>());
        using var batch = await producer.CreateBatchAsync(new CreateBatchOptions { PartitionId = "0" });
        var count = 0;
        while (batch.TryAdd(new EventData(new byte[1000]))) count++;
        await producer.SendAsync(batch);
        var result = new JsonObject { ["count"] = count, ["sizeInBytes"] = batch.SizeInBytes, ["maxSizeInBytes"] = batch.MaximumSizeInBytes };
        try
        {
            await producer.SendAsync([new EventData(new byte[1_100_000])], new SendEventOptions { PartitionId = "0" });
            result["oversizedError"] = null;
        }
        catch (Exception ex)
        {
            result["oversizedError"] = ErrorOf(ex);
        }
        result["partition"] = await PartitionSummary(producer, "0");
        return result;
    }

    async Task<JsonNode> Routing(JsonNode s)
    {
        var hub = s["hub"]!.GetValue<string>();
        var key = s["partitionKey"]!.GetValue<string>();
        await using var producer = Producer(hub);
        await producer.SendAsync([new EventData(Utf8("explicit"))], new SendEventOptions { PartitionId = "2" });
        var afterExplicit = await LastSequenceNumbers(producer);
        await producer.SendAsync([new EventData(Utf8("k1"))], new SendEventOptions { PartitionKey = key });
        var afterKey1 = await LastSequenceNumbers(producer);
        await producer.SendAsync([new EventData(Utf8("k2"))], new SendEventOptions { PartitionKey = key });
        var afterKey2 = await LastSequenceNumbers(producer);
        return new JsonObject { ["afterExplicit"] = afterExplicit, ["afterKey1"] = afterKey1, ["afterKey2"] = afterKey2 };
    }

    async Task<JsonNode> Positions(JsonNode s)
    {
        var hub = s["hub"]!.GetValue<string>();
        await using (var producer = Producer(hub))
        {
            for (var i = 0; i < 5; i++)
                await producer.SendAsync([new EventData(Utf8($"e{i}"))], new SendEventOptions { PartitionId = "0" });
        }
        var events = (await ReceiveNew(hub, "0", EventPosition.Earliest, 5))["events"]!.AsArray();
        var third = events[2]!;
        async Task<JsonNode?> First(EventPosition position)
        {
            var got = await ReceiveNew(hub, "0", position, 1);
            return got["events"]!.AsArray().Count > 0 ? got["events"]![0]!["sequenceNumber"]!.DeepClone() : got["errors"]!.DeepClone();
        }
        var latest = await ReceiveNew(hub, "0", EventPosition.Latest, 1, onReady: () => Send(hub, [Utf8("e5")], new SendEventOptions { PartitionId = "0" }));
        var offset = third["offset"]!.GetValue<string>();
        var sequenceNumber = third["sequenceNumber"]!.GetValue<long>();
        return new JsonObject
        {
            ["events"] = events.DeepClone(),
            ["first"] = new JsonObject
            {
                ["earliest"] = await First(EventPosition.Earliest),
                ["latest"] = latest["events"]!.AsArray().Count > 0 ? latest["events"]![0]!["sequenceNumber"]!.DeepClone() : latest["errors"]!.DeepClone(),
                ["offsetInclusive"] = await First(EventPosition.FromOffset(offset, true)),
                ["offsetExclusive"] = await First(EventPosition.FromOffset(offset, false)),
                ["sequenceNumberInclusive"] = await First(EventPosition.FromSequenceNumber(sequenceNumber, true)),
                ["sequenceNumberExclusive"] = await First(EventPosition.FromSequenceNumber(sequenceNumber, false)),
                ["enqueuedTime"] = await First(EventPosition.FromEnqueuedTime(DateTimeOffset.FromUnixTimeMilliseconds(third["enqueuedTimeMs"]!.GetValue<long>()))),
            },
        };
    }

    async Task<JsonNode> Stealing(JsonNode s)
    {
        // Owner 1 attaches, owner 2 attaches (stealing), an owner 1 tries again (refused while 2 holds).
        var hub = s["hub"]!.GetValue<string>();
        await using var first = Receiver(hub, "0", EventPosition.Earliest, ownerLevel: 1);
        await first.ReceiveBatchAsync(1, TimeSpan.FromMilliseconds(200));
        await using var second = Receiver(hub, "0", EventPosition.Earliest, ownerLevel: 2);
        var secondAttached = true;
        try
        {
            await second.ReceiveBatchAsync(1, TimeSpan.FromMilliseconds(200));
        }
        catch (EventHubsException)
        {
            secondAttached = false;
        }
        var firstResult = await Receive(first, 1);
        var lower = await ReceiveNew(hub, "0", EventPosition.Earliest, 1, ownerLevel: 1);
        return new JsonObject
        {
            ["first"] = firstResult["errors"]!.DeepClone(),
            ["secondAttached"] = secondAttached,
            ["lower"] = lower["errors"]!.DeepClone(),
        };
    }

    async Task<JsonNode> MultipleReceivers(JsonNode s)
    {
        var hub = s["hub"]!.GetValue<string>();
        await using (var producer = Producer(hub))
        {
            foreach (var id in await producer.GetPartitionIdsAsync())
                await producer.SendAsync([new EventData(Utf8($"p{id}"))], new SendEventOptions { PartitionId = id });
        }
        // One connection, four receivers opened at once: their put-tokens go out concurrently.
        await using var connection = new EventHubConnection(connectionString, hub, ConnectionOptions);
        var receivers = Enumerable.Range(0, 4).Select(i => new PartitionReceiver("$Default", i.ToString(), EventPosition.Earliest, connection,
            new PartitionReceiverOptions { RetryOptions = NoRetries })).ToList();
        var results = await Task.WhenAll(receivers.Select(r => Receive(r, 1)));
        foreach (var receiver in receivers) await receiver.CloseAsync();
        var bodies = new JsonObject();
        var errors = new JsonArray();
        foreach (var result in results)
        {
            foreach (var e in result["events"]!.AsArray())
                bodies[e!["partitionId"]!.GetValue<string>()] = Encoding.UTF8.GetString(Convert.FromBase64String(e["body"]!.GetValue<string>()));
            foreach (var error in result["errors"]!.AsArray()) errors.Add(error!.DeepClone());
        }
        return new JsonObject { ["bodies"] = bodies, ["errors"] = errors };
    }

    async Task<JsonNode> WrongKey(JsonNode s)
    {
        var wrong = connectionString.Replace("SharedAccessKey=SAS_KEY_VALUE", "SharedAccessKey=not-the-key");
        try
        {
            await using var producer = Producer(s["hub"]!.GetValue<string>(), connection: wrong);
            await producer.GetEventHubPropertiesAsync();
            return new JsonObject { ["error"] = null };
        }
        catch (Exception ex)
        {
            return new JsonObject { ["error"] = ErrorOf(ex) };
        }
    }

    async Task<JsonNode> UnknownEntities(JsonNode s)
    {
        JsonNode? hubError = null;
        try
        {
            await using var producer = Producer(s["missingHub"]!.GetValue<string>());
            await producer.GetEventHubPropertiesAsync();
        }
        catch (Exception ex)
        {
            hubError = ErrorOf(ex);
        }
        var got = await ReceiveNew(s["hub"]!.GetValue<string>(), "0", EventPosition.Earliest, 1, consumerGroup: s["missingConsumerGroup"]!.GetValue<string>());
        return new JsonObject { ["hubError"] = hubError, ["consumerGroupErrors"] = got["errors"]!.DeepClone() };
    }

    async Task<JsonNode> Idempotent(JsonNode s)
    {
        // The buffered producer is the public way to idempotent publishing in 5.12.2.
        var hub = s["hub"]!.GetValue<string>();
        var failures = new JsonArray();
        var succeeded = 0;
        await using (var producer = new EventHubBufferedProducerClient(connectionString, hub,
            new EventHubBufferedProducerClientOptions { EnableIdempotentRetries = true, RetryOptions = NoRetries, ConnectionOptions = ConnectionOptions }))
        {
            producer.SendEventBatchSucceededAsync += args => { Interlocked.Add(ref succeeded, args.EventBatch.Count); return Task.CompletedTask; };
            producer.SendEventBatchFailedAsync += args => { lock (failures) failures.Add(ErrorOf(args.Exception)); return Task.CompletedTask; };
            foreach (var body in new[] { "i0", "i1", "i2" })
                await producer.EnqueueEventAsync(new EventData(Utf8(body)), new EnqueueEventOptions { PartitionId = "0" });
            await producer.FlushAsync();
        }
        var got = await ReceiveNew(hub, "0", EventPosition.Earliest, 3);
        return new JsonObject
        {
            ["succeeded"] = succeeded,
            ["failures"] = failures,
            ["bodies"] = new JsonArray(got["events"]!.AsArray().Select(e => (JsonNode)Encoding.UTF8.GetString(Convert.FromBase64String(e!["body"]!.GetValue<string>()))).ToArray()),
            ["errors"] = got["errors"]!.DeepClone(),
        };
    }

    async Task<JsonNode> FixtureSend(JsonNode s)
    {
        await using var producer = Producer(s["hub"]!.GetValue<string>());
        using var batch = await producer.CreateBatchAsync(new CreateBatchOptions { PartitionId = s["partitionId"]!.GetValue<string>() });
        var fixtures = s["fixtures"]!.AsArray();
        foreach (var fixture in fixtures)
        {
            var e = new EventData(Convert.FromBase64String(fixture!["body"]!.GetValue<string>()));
            foreach (var (name, prop) in fixture["properties"]!.AsObject()) e.Properties[name] = Native(prop!);
            if (!batch.TryAdd(e)) throw new InvalidOperationException("fixture does not fit in one batch");
        }
        await producer.SendAsync(batch);
        return new JsonObject { ["sent"] = fixtures.Count };
    }

    async Task<JsonNode> FixtureRead(JsonNode s)
    {
        var hub = s["hub"]!.GetValue<string>();
        var count = s["count"]!.GetValue<int>();
        await using var connection = new EventHubConnection(connectionString, hub, ConnectionOptions);
        await using var client = new EventHubConsumerClient("$Default", connection);
        var ids = await client.GetPartitionIdsAsync();
        var receivers = ids.Select(id => new PartitionReceiver("$Default", id, EventPosition.Earliest, connection, new PartitionReceiverOptions { RetryOptions = NoRetries })).ToList();
        var events = new JsonArray();
        var errors = new JsonArray();
        var deadline = DateTime.UtcNow + Wait;
        while (events.Count < count && DateTime.UtcNow < deadline)
        {
            var batches = await Task.WhenAll(receivers.Select(r => Receive(r, 50)));
            // Receive waits for 50 events per partition; stop once every partition is drained.
            foreach (var batch in batches)
            {
                foreach (var e in batch["events"]!.AsArray()) events.Add(e!.DeepClone());
                foreach (var error in batch["errors"]!.AsArray()) errors.Add(error!.DeepClone());
            }
            if (errors.Count > 0) break;
        }
        foreach (var receiver in receivers) await receiver.CloseAsync();
        return new JsonObject { ["events"] = events, ["errors"] = errors };
    }
}
