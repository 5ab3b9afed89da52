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
exports.mcpToolTrigger = void 0;
const functions_1 = require("@azure/functions");
function mcpToolTrigger(input, context) {
    var _a, _b;
    return __awaiter(this, void 0, void 0, function* () {
        context.log('mcpToolTrigger was triggered');
        context.log(`Tool input: ${JSON.stringify(input)}`);
        const query = ((_a = input.arguments) === null || _a === void 0 ? void 0 : _a.query) || 'default';
        const maxResults = ((_b = input.arguments) === null || _b === void 0 ? void 0 : _b.maxResults) || 10;
        context.log(`Processing query: "${query}" with maxResults: ${maxResults}`);
        // Simulate tool execution - in a real scenario, this would perform actual work
        const results = [
            { id: 1, name: `Result for ${query}`, score: 0.95 },
            { id: 2, name: `Another result for ${query}`, score: 0.85 },
        ];
        const limitedResults = results.slice(0, maxResults);
        return {
            success: true,
            query,
            resultCount: limitedResults.length,
            results: limitedResults,
        };
    });
}
exports.mcpToolTrigger = mcpToolTrigger;
functions_1.app.mcpTool('mcpToolTrigger', {
    toolName: 'searchTool',
    description: 'A test search tool that simulates searching for items based on a query string',
    toolProperties: {
        query: functions_1.arg.string().describe('The search query string'),
        maxResults: functions_1.arg.integer().describe('Maximum number of results to return').optional(),
    },
    handler: mcpToolTrigger,
});
//# sourceMappingURL=mcpToolTrigger.js.map