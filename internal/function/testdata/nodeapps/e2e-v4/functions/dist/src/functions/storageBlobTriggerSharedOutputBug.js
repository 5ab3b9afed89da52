"use strict";
// Copyright (c) .NET Foundation. All rights reserved.
// Licensed under the MIT License.
Object.defineProperty(exports, "__esModule", { value: true });
const functions_1 = require("@azure/functions");
// Test for bug https://github.com/Azure/azure-functions-nodejs-library/issues/179
const queueOutput = functions_1.output.storageQueue({
    queueName: 'e2e-test-queue-trigger',
    connection: 'AzureWebJobsStorage',
});
functions_1.app.storageBlob('storageBlobTriggerReturnOutput', {
    path: 'e2e-test-container/e2e-test-blob-trigger-shared-output-bug',
    connection: 'AzureWebJobsStorage',
    return: queueOutput,
    handler: (blob, context) => {
        context.log(`storageBlobTriggerReturnOutput was triggered`);
        return `${blob.toString()}-returnOutput`;
    },
});
functions_1.app.storageBlob('storageBlobTriggerExtraOutput', {
    path: 'e2e-test-container/e2e-test-blob-trigger-shared-output-bug',
    connection: 'AzureWebJobsStorage',
    extraOutputs: [queueOutput],
    handler: (blob, context) => {
        context.log(`storageBlobTriggerExtraOutput was triggered`);
        context.extraOutputs.set(queueOutput, `${blob.toString()}-extraOutput`);
    },
});
//# sourceMappingURL=storageBlobTriggerSharedOutputBug.js.map