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
exports.addRandomAsyncOrSyncDelay = exports.getRandomBoolean = exports.getRandomInt = exports.getRandomHexString = exports.getRandomTestData = void 0;
const crypto = require("crypto");
const delay_1 = require("./delay");
function getRandomTestData() {
    // This should start with non-numeric data to prevent this bug from causing a test failure
    // https://github.com/Azure/azure-functions-nodejs-library/issues/90
    return `testData${getRandomHexString()}`;
}
exports.getRandomTestData = getRandomTestData;
function getRandomHexString(length = 10) {
    const buffer = crypto.randomBytes(Math.ceil(length / 2));
    return buffer.toString('hex').slice(0, length);
}
exports.getRandomHexString = getRandomHexString;
function getRandomInt(min, max) {
    return Math.floor(Math.random() * (max - min) + min);
}
exports.getRandomInt = getRandomInt;
function getRandomBoolean(percentTrue) {
    return Math.random() * 100 > percentTrue;
}
exports.getRandomBoolean = getRandomBoolean;
function addRandomAsyncOrSyncDelay() {
    return __awaiter(this, void 0, void 0, function* () {
        if (getRandomBoolean(95)) {
            yield (0, delay_1.delay)(getRandomInt(0, 250));
        }
        else {
            (0, delay_1.delaySync)(getRandomInt(0, 10));
        }
    });
}
exports.addRandomAsyncOrSyncDelay = addRandomAsyncOrSyncDelay;
//# sourceMappingURL=getRandomTestData.js.map