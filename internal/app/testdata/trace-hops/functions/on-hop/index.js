module.exports = async function (context, message) {
    context.bindings.out = "seen " + message;
};
