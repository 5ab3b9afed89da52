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
exports.httpTriggerCosmosDBOutput = void 0;
const functions_1 = require("@azure/functions");
const httpValidation_1 = require("../utils/httpValidation");
const cosmosOutput = functions_1.output.cosmosDB({
    databaseName: 'e2eTestCosmosDB',
    containerName: 'e2eTestContainerTrigger',
    connection: 'CosmosDBConnection',
});
function httpTriggerCosmosDBOutput(request, context) {
    return __awaiter(this, void 0, void 0, function* () {
        const bodyResult = yield (0, httpValidation_1.getRequiredJsonBody)(request);
        if ('response' in bodyResult) {
            return bodyResult.response;
        }
        const validationError = (0, httpValidation_1.validateObjectOrArray)(bodyResult.value, (item) => (0, httpValidation_1.hasRequiredStringFields)(item, ['id', 'testData']), 'Request body must include Cosmos DB documents with non-empty "id" and "testData" values.');
        if (validationError) {
            return validationError;
        }
        context.extraOutputs.set(cosmosOutput, bodyResult.value);
        return { body: 'done' };
    });
}
exports.httpTriggerCosmosDBOutput = httpTriggerCosmosDBOutput;
functions_1.app.http('httpTriggerCosmosDBOutput', {
    methods: ['POST'],
    authLevel: 'function',
    extraOutputs: [cosmosOutput],
    handler: httpTriggerCosmosDBOutput,
});
//# sourceMappingURL=httpTriggerCosmosDBOutput.js.map