// The development and test bundle's entry point: the product's workflows plus the example parent.
export * from '../../workflows';
export { releaseWithApproval } from './example-release';
