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
const sqlTrigger = function (context, changes) {
    return __awaiter(this, void 0, void 0, function* () {
        context.log(`sqlTrigger processed ${changes.length} changes`);
        for (const change of changes) {
            let operation;
            switch (change.Operation) {
                case 0:
                    operation = 'insert';
                    break;
                case 1:
                    operation = 'update';
                    break;
                case 2:
                    operation = 'delete';
                    break;
                default:
                    throw RangeError(`Unrecognized operation "${change.Operation}"`);
            }
            context.log(`sqlTrigger was triggered by operation "${operation}" for "${JSON.stringify(change.Item)}"`);
        }
    });
};
exports.default = sqlTrigger;
//# sourceMappingURL=index.js.map