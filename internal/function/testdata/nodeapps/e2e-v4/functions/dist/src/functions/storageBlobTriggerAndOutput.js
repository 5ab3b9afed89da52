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
exports.storageBlobTriggerAndOutput = void 0;
const functions_1 = require("@azure/functions");
function storageBlobTriggerAndOutput(blob, context) {
    return __awaiter(this, void 0, void 0, function* () {
        const blobPath = context.triggerMetadata.blobTrigger;
        context.log(`storageBlobTriggerAndOutput was triggered by blob "${blobPath}" with content "${blob.toString()}"`);
        return blob;
    });
}
exports.storageBlobTriggerAndOutput = storageBlobTriggerAndOutput;
functions_1.app.storageBlob('storageBlobTriggerAndOutput', {
    path: 'e2e-test-container/e2e-test-blob-trigger-and-output',
    connection: 'AzureWebJobsStorage',
    return: functions_1.output.storageBlob({
        path: 'e2e-test-container/e2e-test-blob-trigger',
        connection: 'AzureWebJobsStorage',
    }),
    handler: storageBlobTriggerAndOutput,
});
//# sourceMappingURL=storageBlobTriggerAndOutput.js.map