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
exports.httpTriggerStorageQueueOutput = void 0;
const functions_1 = require("@azure/functions");
const httpValidation_1 = require("../utils/httpValidation");
const storageOutput = functions_1.output.storageQueue({
    queueName: 'e2e-test-queue-trigger',
    connection: 'AzureWebJobsStorage',
});
function httpTriggerStorageQueueOutput(request, context) {
    return __awaiter(this, void 0, void 0, function* () {
        const bodyResult = yield (0, httpValidation_1.getRequiredJsonBody)(request);
        if ('response' in bodyResult) {
            return bodyResult.response;
        }
        const validationError = (0, httpValidation_1.validateObject)(bodyResult.value, (item) => (0, httpValidation_1.hasValidOutputEnvelope)(item), 'Request body must include an "output" value.');
        if (validationError) {
            return validationError;
        }
        context.extraOutputs.set(storageOutput, bodyResult.value.output);
        return { body: 'done' };
    });
}
exports.httpTriggerStorageQueueOutput = httpTriggerStorageQueueOutput;
functions_1.app.http('httpTriggerStorageQueueOutput', {
    methods: ['POST'],
    authLevel: 'function',
    extraOutputs: [storageOutput],
    handler: httpTriggerStorageQueueOutput,
});
//# sourceMappingURL=httpTriggerStorageQueueOutput.js.map