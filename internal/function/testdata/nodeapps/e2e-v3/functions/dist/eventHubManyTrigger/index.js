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
const eventHubTrigger = function (context, messages) {
    return __awaiter(this, void 0, void 0, function* () {
        for (let i = 0; i < messages.length; i++) {
            const message = messages[i];
            if (typeof message === 'string') {
                context.log(`eventHubManyTrigger was triggered by string body "${message}"`);
            }
            else {
                context.log(`eventHubManyTrigger was triggered by object body "${JSON.stringify(message)}"`);
            }
            context.log(`eventHubManyTrigger message properties: "${JSON.stringify(context.bindingData.propertiesArray[i])}"`);
        }
    });
};
exports.default = eventHubTrigger;
//# sourceMappingURL=index.js.map