// An ordinary Service Bus application written with the official JavaScript
// SDK: it sends three orders to a queue in one batch, then receives them with
// peek-lock and completes each. Nothing in it knows about Junction; the
// connection string alone decides where it runs.
//
//   SERVICEBUS_CONNECTION_STRING=... node demo/sdk/send-receive.mjs [queue]
import { ServiceBusClient } from "@azure/service-bus";

const connectionString = process.env.SERVICEBUS_CONNECTION_STRING;
const queue = process.argv[2] ?? "orders";
if (!connectionString) {
  console.error("set SERVICEBUS_CONNECTION_STRING (junction queue connection-string prints one)");
  process.exit(2);
}

const client = new ServiceBusClient(connectionString);
try {
  const orders = [
    { order: 1, item: "printer toner", quantity: 4 },
    { order: 2, item: "paper A4", quantity: 20 },
    { order: 3, item: "stapler", quantity: 1 },
  ].map((o) => ({
    messageId: `order-${o.order}`,
    subject: "order.created",
    contentType: "application/json",
    body: o,
    applicationProperties: { source: "demo-sdk" },
  }));
  const sender = client.createSender(queue);
  await sender.sendMessages(orders);
  console.log(`sent ${orders.length} orders to ${queue}`);

  const receiver = client.createReceiver(queue); // peek-lock, the default
  const waiting = new Set(orders.map((o) => o.messageId));
  const deadline = Date.now() + 30_000;
  while (waiting.size > 0 && Date.now() < deadline) {
    const messages = await receiver.receiveMessages(waiting.size, { maxWaitTimeInMs: 5_000 });
    for (const m of messages) {
      console.log(`received ${m.messageId} (sequence ${m.sequenceNumber}): ${JSON.stringify(m.body)}`);
      await receiver.completeMessage(m);
      waiting.delete(m.messageId);
    }
  }
  if (waiting.size > 0) {
    console.error(`not received: ${[...waiting].join(", ")}`);
    process.exitCode = 1;
  } else {
    console.log(`completed all ${orders.length}`);
  }
} finally {
  await client.close();
}
