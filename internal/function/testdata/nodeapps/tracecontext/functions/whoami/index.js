module.exports = async function (context, req) {
    context.res = {body: {traceparent: context.traceContext.traceparent}};
};
