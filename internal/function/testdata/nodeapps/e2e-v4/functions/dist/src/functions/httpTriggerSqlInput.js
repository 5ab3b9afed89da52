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
exports.httpTriggerSqlInput = void 0;
const functions_1 = require("@azure/functions");
const httpValidation_1 = require("../utils/httpValidation");
const sqlInput = functions_1.input.sql({
    connectionStringSetting: 'SqlConnection',
    commandText: 'select * from dbo.e2eSqlNonTriggerTable where id = @id',
    commandType: 'Text',
    parameters: '@id={Query.id}',
});
function httpTriggerSqlInput(request, context) {
    return __awaiter(this, void 0, void 0, function* () {
        context.log(`httpTriggerSqlInput was triggered`);
        const items = context.extraInputs.get(sqlInput);
        if ((0, httpValidation_1.isMissingResult)(items)) {
            return (0, httpValidation_1.notFound)(`No SQL rows were found for id "${request.query.get('id')}".`);
        }
        return { jsonBody: items };
    });
}
exports.httpTriggerSqlInput = httpTriggerSqlInput;
functions_1.app.http('httpTriggerSqlInput', {
    methods: ['GET'],
    authLevel: 'function',
    extraInputs: [sqlInput],
    handler: httpTriggerSqlInput,
});
//# sourceMappingURL=httpTriggerSqlInput.js.map