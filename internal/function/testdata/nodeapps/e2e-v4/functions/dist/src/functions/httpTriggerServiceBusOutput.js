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
exports.httpTriggerServiceBusOutput = void 0;
const functions_1 = require("@azure/functions");
const httpValidation_1 = require("../utils/httpValidation");
const serviceBusOutput = functions_1.output.serviceBusQueue({
    connection: 'ServiceBusConnection',
    queueName: 'e2e-test-queue-one-trigger',
});
function httpTriggerServiceBusOutput(request, context) {
    return __awaiter(this, void 0, void 0, function* () {
        const bodyResult = yield (0, httpValidation_1.getRequiredJsonBody)(request);
        if ('response' in bodyResult) {
            return bodyResult.response;
        }
        const validationError = (0, httpValidation_1.validateObject)(bodyResult.value, (item) => (0, httpValidation_1.hasValidOutputEnvelope)(item), 'Request body must include an "output" value.');
        if (validationError) {
            return validationError;
        }
        context.extraOutputs.set(serviceBusOutput, bodyResult.value.output);
        return { body: 'done' };
    });
}
exports.httpTriggerServiceBusOutput = httpTriggerServiceBusOutput;
functions_1.app.http('httpTriggerServiceBusOutput', {
    methods: ['POST'],
    authLevel: 'function',
    extraOutputs: [serviceBusOutput],
    handler: httpTriggerServiceBusOutput,
});
//# sourceMappingURL=httpTriggerServiceBusOutput.js.map