// Types come from the API's checked-in SDL, offline: a change to the API that breaks a
// query of the client breaks `npm run build`.
import type { CodegenConfig } from '@graphql-codegen/cli';

const scalars = { DateTime: 'string', ID: 'string' };
const presetConfig = { fragmentMasking: false, gqlTagName: 'graphql' };
const config = {
  useTypeImports: true,
  scalars,
  enumsAsTypes: true,
  documentMode: 'string',
  skipTypename: true,
};

const codegen: CodegenConfig = {
  overwrite: true,
  ignoreNoDocuments: false,
  generates: {
    'src/gql/public/': {
      schema: '../graphql-api/schema.public.graphql',
      documents: ['src/api/public/**/*.graphql'],
      preset: 'client',
      presetConfig,
      config,
    },
    'src/gql/sale/': {
      schema: '../graphql-api/schema.sale.graphql',
      documents: ['src/api/sale/**/*.graphql'],
      preset: 'client',
      presetConfig,
      config,
    },
  },
};

export default codegen;
