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
exports.httpTriggerRandomDelay = void 0;
const functions_1 = require("@azure/functions");
const getRandomTestData_1 = require("../utils/getRandomTestData");
function httpTriggerRandomDelay(request, context) {
    return __awaiter(this, void 0, void 0, function* () {
        context.log(`Http function processed request for url "${request.url}"`);
        yield (0, getRandomTestData_1.addRandomAsyncOrSyncDelay)();
        const name = request.query.get('name') || (yield request.text()) || 'world';
        return { body: `Hello, ${name}!` };
    });
}
exports.httpTriggerRandomDelay = httpTriggerRandomDelay;
functions_1.app.http('httpTriggerRandomDelay', {
    methods: ['GET', 'POST'],
    authLevel: 'anonymous',
    handler: httpTriggerRandomDelay,
});
//# sourceMappingURL=httpTriggerRandomDelay.js.map