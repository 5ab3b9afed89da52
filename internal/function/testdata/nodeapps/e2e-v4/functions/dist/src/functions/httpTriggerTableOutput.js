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
exports.httpTriggerTableOutput = void 0;
const functions_1 = require("@azure/functions");
const httpValidation_1 = require("../utils/httpValidation");
const tableOutput = functions_1.output.table({
    tableName: 'e2etesttable',
    connection: 'AzureWebJobsStorage',
});
function httpTriggerTableOutput(request, context) {
    return __awaiter(this, void 0, void 0, function* () {
        context.log(`httpTriggerTableOutput was triggered`);
        const bodyResult = yield (0, httpValidation_1.getRequiredJsonBody)(request);
        if ('response' in bodyResult) {
            return bodyResult.response;
        }
        const validationError = (0, httpValidation_1.validateObjectOrArray)(bodyResult.value, (item) => (0, httpValidation_1.hasRequiredStringFields)(item, ['PartitionKey', 'RowKey']), 'Request body must include table entities with non-empty "PartitionKey" and "RowKey" values.');
        if (validationError) {
            return validationError;
        }
        context.extraOutputs.set(tableOutput, bodyResult.value);
        return { status: 201 };
    });
}
exports.httpTriggerTableOutput = httpTriggerTableOutput;
functions_1.app.http('httpTriggerTableOutput', {
    methods: ['POST'],
    authLevel: 'function',
    extraOutputs: [tableOutput],
    handler: httpTriggerTableOutput,
});
//# sourceMappingURL=httpTriggerTableOutput.js.map