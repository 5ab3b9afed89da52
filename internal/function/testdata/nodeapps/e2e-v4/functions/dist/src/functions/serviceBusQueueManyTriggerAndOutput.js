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
exports.serviceBusQueueManyTriggerAndOutput = void 0;
const functions_1 = require("@azure/functions");
function serviceBusQueueManyTriggerAndOutput(messages, context) {
    return __awaiter(this, void 0, void 0, function* () {
        for (const message of messages) {
            context.log(`serviceBusQueueManyTriggerAndOutput was triggered by "${message}"`);
        }
        // do an extra stringify to make sure the values are JSON-parse-able otherwise it'll hit this bug:
        // https://github.com/Azure/azure-functions-eventhubs-extension/issues/118
        return messages.map((m) => JSON.stringify(m));
    });
}
exports.serviceBusQueueManyTriggerAndOutput = serviceBusQueueManyTriggerAndOutput;
functions_1.app.serviceBusQueue('serviceBusQueueManyTriggerAndOutput', {
    connection: 'ServiceBusConnection',
    queueName: 'e2e-test-queue-many-trigger-and-output',
    cardinality: 'many',
    return: functions_1.output.serviceBusQueue({
        connection: 'ServiceBusConnection',
        queueName: 'e2e-test-queue-many-trigger',
    }),
    handler: serviceBusQueueManyTriggerAndOutput,
});
//# sourceMappingURL=serviceBusQueueManyTriggerAndOutput.js.map