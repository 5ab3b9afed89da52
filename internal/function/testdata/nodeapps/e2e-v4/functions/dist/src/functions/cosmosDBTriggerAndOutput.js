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
exports.cosmosDBTriggerAndOutput = void 0;
const functions_1 = require("@azure/functions");
function cosmosDBTriggerAndOutput(documents, context) {
    return __awaiter(this, void 0, void 0, function* () {
        context.log(`cosmosDBTriggerAndOutput processed ${documents.length} documents`);
        for (const document of documents) {
            context.log(`cosmosDBTriggerAndOutput was triggered by "${document.testData}"`);
        }
        return documents;
    });
}
exports.cosmosDBTriggerAndOutput = cosmosDBTriggerAndOutput;
functions_1.app.cosmosDB('cosmosDBTriggerAndOutput', {
    connection: 'CosmosDBConnection',
    databaseName: 'e2eTestCosmosDB',
    containerName: 'e2eTestContainerTriggerAndOutput',
    createLeaseContainerIfNotExists: true,
    leaseContainerPrefix: '1',
    return: functions_1.output.cosmosDB({
        connection: 'CosmosDBConnection',
        databaseName: 'e2eTestCosmosDB',
        containerName: 'e2eTestContainerTrigger',
    }),
    handler: cosmosDBTriggerAndOutput,
});
//# sourceMappingURL=cosmosDBTriggerAndOutput.js.map