module.exports = async function (context, req) {
    context.log("hello");
    context.res = {status: 200, body: "hi"};
};
