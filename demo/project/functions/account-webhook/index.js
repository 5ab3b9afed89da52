// A stand-in for a partner's webhook: it receives the account changes Junction's
// event router pushes (CloudEvents), answers the CloudEvents validation
// handshake, and logs what it got (see the function's invocation history).
module.exports = async function (context, req) {
    if (req.method === "OPTIONS") {
        // CloudEvents webhook validation: consent to deliveries from the router.
        context.res = {status: 200, headers: {"WebHook-Allowed-Origin": req.headers["webhook-request-origin"] || "*"}};
        return;
    }
    const events = Array.isArray(req.body) ? req.body : [req.body];
    for (const ev of events) {
        const after = (ev.data && ev.data.after) || {};
        context.log("account changed:", after.name, "revenue", after.revenue, "event", ev.id);
    }
    context.res = {status: 200, body: {received: events.length}};
};
