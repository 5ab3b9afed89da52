// Publishes events to Junction with the Azure Event Grid SDK, as an
// application would: argv is a JSON object with the endpoints and keys.
const { EventGridPublisherClient, AzureKeyCredential, AzureSASCredential, generateSharedAccessSignature } = require("@azure/eventgrid");

async function main() {
  const cfg = JSON.parse(process.argv[2]);
  const opts = { allowInsecureConnection: true, retryOptions: { maxRetries: 0 } };
  const eg = new EventGridPublisherClient(cfg.egEndpoint, "EventGrid", new AzureKeyCredential(cfg.egKey), opts);
  await eg.send([
    { id: "eg-1", eventType: "Grant.Approved", subject: "/grants/1", dataVersion: "1.0", data: { amount: 1200 } },
    { id: "eg-2", eventType: "Grant.Rejected", subject: "/grants/2", dataVersion: "1.0", data: { amount: 10 } },
  ]);
  const sas = await generateSharedAccessSignature(cfg.egEndpoint, new AzureKeyCredential(cfg.egKey), new Date(Date.now() + 3600 * 1000));
  const egSas = new EventGridPublisherClient(cfg.egEndpoint, "EventGrid", new AzureSASCredential(sas), opts);
  await egSas.send([{ id: "eg-3", eventType: "Grant.Approved", subject: "/grants/3", dataVersion: "1.0", data: { amount: 5000 } }]);
  const ce = new EventGridPublisherClient(cfg.ceEndpoint, "CloudEvent", new AzureKeyCredential(cfg.ceKey), opts);
  await ce.send([
    { id: "ce-1", type: "Grant.Approved", source: "/finance", subject: "/grants/4", data: { amount: 7 } },
    { id: "ce-2", type: "Grant.Approved", source: "/finance", data: Buffer.from([1, 2, 3]), datacontenttype: "application/octet-stream" },
  ]);
  // A wrong key must fail with 401.
  const bad = new EventGridPublisherClient(cfg.egEndpoint, "EventGrid", new AzureKeyCredential("d3Jvbmc="), opts);
  try {
    await bad.send([{ id: "x", eventType: "t", subject: "s", dataVersion: "1", data: {} }]);
    console.log(JSON.stringify({ badKey: "accepted" }));
  } catch (e) {
    console.log(JSON.stringify({ badKey: e.statusCode }));
  }
}

main().catch((e) => { console.error(e); process.exit(1); });
