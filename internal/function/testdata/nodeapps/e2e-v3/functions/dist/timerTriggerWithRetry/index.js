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
const timerTrigger = function (context, _myTimer) {
    var _a, _b;
    return __awaiter(this, void 0, void 0, function* () {
        const retryCount = (_b = (_a = context.executionContext.retryContext) === null || _a === void 0 ? void 0 : _a.retryCount) !== null && _b !== void 0 ? _b : 0;
        if (retryCount < 2) {
            throw new Error(`timerTriggerWithRetry error on attempt ${retryCount}`);
        }
        context.log(`timerTriggerWithRetry pass on attempt ${retryCount}`);
    });
};
exports.default = timerTrigger;
//# sourceMappingURL=index.js.map