"use strict";
// Copyright (c) .NET Foundation. All rights reserved.
// Licensed under the MIT License.
var __awaiter = (this && this.__awaiter) || function (thisArg, _arguments, P, generator) {
    function adopt(value) { return value instanceof P ? value : new P(function (resolve) { resolve(value); }); }
    return new (P || (P = Promise))(function (resolve, reject) {
        function fulfilled(value) { try { step(generator.next(value)); } catch (e) { reject(e); } }
        function rejected(value) { try { step(generator["throw"](value)); } catch (e) { reject(e); } }
        function step(result) { result.done ? resolve(result.value) : adopt(result.value).then(fulfilled, rejected); }
        step((generator = generator.apply(thisArg, _arguments || [])).next());
    });
};
Object.defineProperty(exports, "__esModule", { value: true });
const functions_1 = require("@azure/functions");
functions_1.app.hook.appStart((context) => {
    context.hookData.testData = 'appStartHookData123';
    console.log('appStart hook executed.');
});
functions_1.app.hook.appTerminate((context) => {
    console.log(`appTerminate hook executed with hook data ${context.hookData.testData}`);
});
functions_1.app.hook.preInvocation((context) => {
    if (context.invocationContext.functionName === 'httpTriggerForHooks') {
        context.invocationContext.log(`preInvocation hook executed with inputs ${JSON.stringify(context.inputs.map((v) => v.constructor.name))}`);
        context.inputs.push('extraTestInput12345');
        const oldHandler = context.functionHandler;
        context.functionHandler = (...args) => {
            context.invocationContext.log('extra log from updated functionHandler');
            return oldHandler(...args);
        };
        context.hookData.testData = 'preInvocationHookData123';
        // Validate readonly properties
        try {
            // @ts-expect-error by-design
            context.hookData = {};
        }
        catch (err) {
            context.invocationContext.log(`Ignored error: ${err.message}`);
        }
        try {
            // @ts-expect-error by-design
            context.invocationContext = {};
        }
        catch (err) {
            context.invocationContext.log(`Ignored error: ${err.message}`);
        }
    }
});
const hookToDispose = functions_1.app.hook.preInvocation((context) => {
    context.invocationContext.log('This should never run.');
});
hookToDispose.dispose();
functions_1.app.hook.postInvocation((context) => {
    if (context.invocationContext.functionName === 'httpTriggerForHooks') {
        const resultString = JSON.stringify(context.result);
        context.invocationContext.log(`postInvocation hook executed with error: ${context.error}, result: ${resultString}, hook data: ${context.hookData.testData}`);
    }
});
functions_1.app.hook.postInvocation(() => __awaiter(void 0, void 0, void 0, function* () {
    // Add slight delay to ensure logs show up before the invocation finishes
    // See these issues for more info:
    // https://github.com/Azure/azure-functions-host/issues/9238
    // https://github.com/Azure/azure-functions-host/issues/8222
    yield new Promise((resolve) => setTimeout(resolve, 50));
}));
//# sourceMappingURL=index.js.map