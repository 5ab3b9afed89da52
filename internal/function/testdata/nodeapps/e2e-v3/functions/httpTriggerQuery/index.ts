// Copyright (c) .NET Foundation. All rights reserved.
// Licensed under the MIT License.

import { AzureFunction, Context, HttpRequest } from '@azure/functions';

const httpTrigger: AzureFunction = async function (context: Context, req: HttpRequest): Promise<void> {
    context.res = {
        body: {
            query: req.query,
            dupe: req.query.dupe,
            dupeAll: [req.query.dupe],
        },
    };
};

export default httpTrigger;
