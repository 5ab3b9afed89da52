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
exports.mcpResourceTrigger = void 0;
const functions_1 = require("@azure/functions");
function mcpResourceTrigger(input, context) {
    return __awaiter(this, void 0, void 0, function* () {
        context.log('mcpResourceTrigger was triggered');
        context.log(`Resource input: ${JSON.stringify(input)}`);
        // Simulate resource retrieval - in a real scenario, this would fetch actual data
        const testData = {
            version: '1.0.0',
            status: 'active',
            lastUpdated: new Date().toISOString(),
            config: {
                enableFeatureA: true,
                enableFeatureB: false,
                maxItems: 100,
            },
        };
        return JSON.stringify(testData, null, 2);
    });
}
exports.mcpResourceTrigger = mcpResourceTrigger;
functions_1.app.mcpResource('mcpResourceTrigger', {
    uri: 'mcp://test/config',
    resourceName: 'testConfig',
    title: 'Test Configuration Resource',
    description: 'A test MCP resource that provides configuration data for testing purposes',
    mimeType: 'application/json',
    handler: mcpResourceTrigger,
});
//# sourceMappingURL=mcpResourceTrigger.js.map