// Parses webhook deliveries with the CloudEvents SDK: stdin is a JSON array of
// {headers, body}; stdout the parsed events.
const { HTTP } = require("cloudevents");

let input = "";
process.stdin.on("data", (c) => (input += c));
process.stdin.on("end", () => {
  const out = [];
  for (const d of JSON.parse(input)) {
    const parsed = HTTP.toEvent({ headers: d.headers, body: d.body });
    for (const e of Array.isArray(parsed) ? parsed : [parsed]) {
      e.validate();
      out.push({ id: e.id, type: e.type, source: e.source, subject: e.subject, data: e.data, data_base64: e.data_base64 });
    }
  }
  console.log(JSON.stringify(out));
});
