module.exports = async function (context, message) {
    if (message === "fail") {
        throw new Error("no follow-up for an account named fail");
    }
    context.bindings.task = {subject: "Follow up " + message};
};
