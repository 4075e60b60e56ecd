// Types come from the API's checked-in SDL, offline: a change to the API that breaks a
// query of the client breaks `npm run build`.
//
// While the sale mutations of docs/sale-api.md are not yet in the checked-in SDL, the
// contract in schema/*-contract.graphql is added to it; it drops out by itself the moment
// the SDL has them (then the SDL alone decides).
import { readFileSync } from 'node:fs';
import type { CodegenConfig } from '@graphql-codegen/cli';

const PUBLIC_SDL = '../graphql-api/schema.public.graphql';
const SALE_SDL = '../graphql-api/schema.sale.graphql';

function schemaFor(sdl: string, marker: RegExp, contract: string): string[] {
  const text = readFileSync(new URL(sdl, import.meta.url), 'utf8');
  if (marker.test(text)) return [sdl];
  console.warn(`codegen: ${sdl} has no ${marker.source} yet: adding ${contract} (docs/sale-api.md)`);
  return [sdl, contract];
}

const scalars = { DateTime: 'string', ID: 'string' };
const presetConfig = { fragmentMasking: false };
const config = {
  useTypeImports: true,
  scalars,
  enumsAsTypes: true,
  documentMode: 'string',
  avoidOptionals: false,
  skipTypename: true,
};

const codegen: CodegenConfig = {
  overwrite: true,
  ignoreNoDocuments: false,
  generates: {
    'src/gql/public/': {
      schema: schemaFor(PUBLIC_SDL, /\bmyBookings\b/, 'schema/public-contract.graphql'),
      documents: ['src/api/public/**/*.graphql'],
      preset: 'client',
      presetConfig: { ...presetConfig, gqlTagName: 'graphql' },
      config,
    },
    'src/gql/sale/': {
      schema: schemaFor(SALE_SDL, /\blockSeats\b/, 'schema/sale-contract.graphql'),
      documents: ['src/api/sale/**/*.graphql'],
      preset: 'client',
      presetConfig: { ...presetConfig, gqlTagName: 'graphql' },
      config,
    },
  },
};

export default codegen;
