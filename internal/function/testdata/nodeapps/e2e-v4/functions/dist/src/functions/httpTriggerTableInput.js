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
exports.httpTriggerTableInput = void 0;
const functions_1 = require("@azure/functions");
const httpValidation_1 = require("../utils/httpValidation");
const tableInput = functions_1.input.table({
    tableName: 'e2etesttable',
    partitionKey: 'e2eTestPartKey',
    filter: "RowKey eq '{rowKey}'",
    connection: 'AzureWebJobsStorage',
});
function httpTriggerTableInput(request, context) {
    return __awaiter(this, void 0, void 0, function* () {
        context.log(`httpTriggerTableInput was triggered`);
        const rowKeyResult = (0, httpValidation_1.getRequiredRouteParam)(request, 'rowKey');
        if ('response' in rowKeyResult) {
            return rowKeyResult.response;
        }
        const items = context.extraInputs.get(tableInput);
        if ((0, httpValidation_1.isMissingResult)(items)) {
            return (0, httpValidation_1.notFound)(`No table entities were found for rowKey "${rowKeyResult.value}".`);
        }
        return { jsonBody: items };
    });
}
exports.httpTriggerTableInput = httpTriggerTableInput;
functions_1.app.http('httpTriggerTableInput', {
    methods: ['GET'],
    authLevel: 'function',
    route: 'httpTriggerTableInput/{rowKey}',
    extraInputs: [tableInput],
    handler: httpTriggerTableInput,
});
//# sourceMappingURL=httpTriggerTableInput.js.map