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
exports.httpTriggerCosmosDBInput = void 0;
const functions_1 = require("@azure/functions");
const httpValidation_1 = require("../utils/httpValidation");
const cosmosInput = functions_1.input.cosmosDB({
    databaseName: 'e2eTestCosmosDB',
    containerName: 'e2eTestContainerTriggerAndOutput',
    id: '{Query.id}',
    partitionKey: 'testPartKey',
    connection: 'CosmosDBConnection',
});
function httpTriggerCosmosDBInput(request, context) {
    return __awaiter(this, void 0, void 0, function* () {
        const doc = context.extraInputs.get(cosmosInput);
        if ((0, httpValidation_1.isMissingResult)(doc)) {
            return (0, httpValidation_1.notFound)(`No Cosmos DB document was found for id "${request.query.get('id')}".`);
        }
        return { body: doc.testData };
    });
}
exports.httpTriggerCosmosDBInput = httpTriggerCosmosDBInput;
functions_1.app.http('httpTriggerCosmosDBInput', {
    methods: ['GET'],
    authLevel: 'function',
    extraInputs: [cosmosInput],
    handler: httpTriggerCosmosDBInput,
});
//# sourceMappingURL=httpTriggerCosmosDBInput.js.map