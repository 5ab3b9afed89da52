// Drives Junction's AMQP listener with @azure/service-bus through a
// connection string from listKeys. Prints one JSON object of results; any
// failure throws (exit code 1 with the error on stderr).
const { ServiceBusClient } = require("@azure/service-bus");

const cfg = JSON.parse(process.argv[2]);

function step(what) {
  if (process.env.SB_TRACE) console.error(new Date().toISOString(), what);
}

function check(cond, what) {
  if (!cond) throw new Error("check failed: " + what);
}

async function receiveN(receiver, n) {
  const out = [];
  while (out.length < n) {
    const got = await receiver.receiveMessages(n - out.length, { maxWaitTimeInMs: 5000 });
    check(got.length > 0, `received ${out.length} of ${n}`);
    out.push(...got);
  }
  return out;
}

async function main() {
  const res = {};
  const client = new ServiceBusClient(cfg.cs);
  try {
    step('Send one and a batch.');
    // Send one and a batch.
    const sender = client.createSender("js-q");
    await sender.sendMessages({ body: { id: 1 }, messageId: "one", subject: "created", applicationProperties: { region: "eu", n: 3 } });
    const batch = await sender.createMessageBatch();
    for (let i = 2; i <= 5; i++) check(batch.tryAddMessage({ body: `m${i}`, messageId: `id-${i}` }), "batch add");
    await sender.sendMessages(batch);

    step('Peek sees all five without locking.');
    // Peek sees all five without locking.
    const receiver = client.createReceiver("js-q");
    const peeked = await receiver.peekMessages(10);
    res.peeked = peeked.length;

    const msgs = await receiveN(receiver, 5);
    const byId = Object.fromEntries(msgs.map((m) => [m.messageId, m]));
    check(byId.one.body.id === 1 && byId.one.subject === "created" && byId.one.applicationProperties.region === "eu", "first message fields");
    check(typeof byId.one.sequenceNumber !== "undefined" && byId.one.lockToken, "broker properties");
    await receiver.completeMessage(byId.one);
    await receiver.abandonMessage(byId["id-2"], { tries: 1 });
    await receiver.deadLetterMessage(byId["id-3"], { deadLetterReason: "bad", deadLetterErrorDescription: "unparseable" });
    await receiver.deferMessage(byId["id-4"]);
    const before = byId["id-5"].lockedUntilUtc;
    await new Promise((r) => setTimeout(r, 20));
    const renewed = await receiver.renewMessageLock(byId["id-5"]);
    res.renewed = renewed > before;
    await receiver.completeMessage(byId["id-5"]);

    const [again] = await receiveN(receiver, 1);
    res.abandoned = { id: again.messageId, deliveryCount: again.deliveryCount, tries: again.applicationProperties.tries };
    await receiver.completeMessage(again);

    const [deferred] = await receiver.receiveDeferredMessages([byId["id-4"].sequenceNumber]);
    res.deferred = deferred.body;
    await receiver.completeMessage(deferred);

    const dlq = client.createReceiver("js-q", { subQueueType: "deadLetter" });
    const [dead] = await receiveN(dlq, 1);
    res.dead = { id: dead.messageId, reason: dead.deadLetterReason, description: dead.deadLetterErrorDescription };
    await dlq.completeMessage(dead);

    step('Schedule two, cancel one; receive-and-delete the other once due.');
    // Schedule two, cancel one; receive-and-delete the other once due.
    const seqs = await sender.scheduleMessages([{ body: "soon" }, { body: "never" }], new Date(Date.now() + 1500));
    await sender.cancelScheduledMessages([seqs[1]]);
    const rad = client.createReceiver("js-q", { receiveMode: "receiveAndDelete" });
    const [soon] = await rad.receiveMessages(1, { maxWaitTimeInMs: 10000 });
    res.scheduled = soon && soon.body;

    step('The streaming subscribe() handler.');
    // The streaming subscribe() handler.
    await sender.sendMessages([{ body: "s1" }, { body: "s2" }]);
    const streamed = [];
    await new Promise((resolve, reject) => {
      const sub = receiver.subscribe(
        {
          processMessage: async (m) => {
            streamed.push(m.body);
            if (streamed.length === 2) sub.close().then(resolve, reject);
          },
          processError: async (args) => reject(args.error),
        },
        { autoCompleteMessages: true },
      );
    });
    res.streamed = streamed.sort();

    step('Sessions with state.');
    // Sessions with state.
    const ss = client.createSender("js-sessions");
    await ss.sendMessages([{ body: "a1", sessionId: "a" }, { body: "a2", sessionId: "a" }, { body: "b1", sessionId: "b" }]);
    const sa = await client.acceptSession("js-sessions", "a");
    const am = await receiveN(sa, 2);
    res.sessionA = am.map((m) => m.body);
    for (const m of am) await sa.completeMessage(m);
    await sa.setSessionState("checkpoint");
    res.sessionState = String(await sa.getSessionState());
    await sa.renewSessionLock();
    await sa.close();
    const next = await client.acceptNextSession("js-sessions");
    res.nextSession = next.sessionId;
    const [b1] = await receiveN(next, 1);
    await next.completeMessage(b1);
    await next.close();

    step("Topic with SQL rules managed through the subscription's rule manager.");
    // Topic with SQL rules managed through the subscription's rule manager.
    const rules = client.createRuleManager("js-t", "js-s");
    await rules.createRule("big", { sqlExpression: "amount > 10" }, { sqlExpression: "SET big = 1" });
    await rules.deleteRule("$Default");
    const listed = [];
    for await (const r of rules.listRules()) listed.push(r.name + ":" + (r.filter.sqlExpression || ""));
    res.rules = listed;
    const ts = client.createSender("js-t");
    await ts.sendMessages([{ body: "small", applicationProperties: { amount: 5 } }, { body: "large", applicationProperties: { amount: 50 } }]);
    const subr = client.createReceiver("js-t", "js-s");
    const [large] = await receiveN(subr, 1);
    res.topic = { body: large.body, big: large.applicationProperties.big };
    await subr.completeMessage(large);
  } finally {
    await client.close();
  }

  step('A wrong key is refused as unauthorized.');
  // A wrong key is refused as unauthorized.
  const bad = new ServiceBusClient(cfg.badCs, { retryOptions: { maxRetries: 0, timeoutInMs: 10000 } });
  try {
    await bad.createSender("js-q").sendMessages({ body: "x" });
    res.badKey = "accepted";
  } catch (e) {
    res.badKey = e.code || e.name;
  } finally {
    await bad.close();
  }
  console.log(JSON.stringify(res));
}

main().catch((e) => {
  console.error(e && e.stack ? e.stack : e);
  process.exit(1);
});
